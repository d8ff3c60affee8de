type LockPackages = Record<string, Record<string, unknown>>;

/**
 * Optional dependencies named in the lock with no entry of their own, for packages whose
 * name says their platform (`…-darwin-arm64`, `…-win32-x64`, `…-linux-arm`), with the entry
 * npm would have written. Others are left for a person to look at.
 */
export function missingOptionalEntries(packages: LockPackages): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  for (const [key, pkg] of Object.entries(packages)) {
    const optional = (pkg.optionalDependencies ?? {}) as Record<string, string>;
    for (const [name, version] of Object.entries(optional)) {
      const nested = `${key}/node_modules/${name}`;
      const hoisted = `node_modules/${name}`;
      if (nested in packages || hoisted in packages) continue;
      const m =
        /-(darwin|linux|win32|freebsd|android|sunos|openbsd|netbsd|aix)-(x64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64|mips64el)$/.exec(
          name,
        );
      if (m === null || !/^\d+\.\d+\.\d+$/.test(version)) continue;
      out.push([hoisted, { version, cpu: [m[2]], license: pkg.license ?? 'MIT', optional: true, os: [m[1]] }]);
    }
  }
  return out;
}
