import { z } from 'zod';
import { Facts } from '../facts.ts';
import { globProblem } from './host-glob.ts';

export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const InventoryHost = z.strictObject({
  address: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.:[\]-]+$/, 'a host name or IP address'),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'a Unix user name'),
  privateKeyPath: z.string().min(1),
  knownHostsPath: z.string().min(1),
  sudo: z.boolean().default(false),
  /** Per-host default playbook. */
  playbook: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,62}$/)
    .default('nginx-502'),
  facts: Facts.default({}),
});

export type InventoryHost = z.infer<typeof InventoryHost>;

export const Inventory = z.strictObject({
  hosts: z.record(z.string().regex(HOST_NAME, 'host names are letters, digits, ".", "_" and "-"'), InventoryHost),
  groups: z
    .record(
      z.string().regex(HOST_NAME),
      z
        .array(
          z
            .string()
            .min(1)
            .refine((member) => globProblem(member) === undefined, {
              error: (issue) => globProblem(String(issue.input)) ?? 'a host or pattern',
            }),
        )
        .min(1),
    )
    .default({}),
});

export type Inventory = z.infer<typeof Inventory>;
