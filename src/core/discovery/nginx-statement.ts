/** One simple directive of nginx's config with its arguments and where it stands. */
export interface NginxStatement {
  name: string;
  args: string[];
  file?: string;
  /** The source line the directive starts on, trimmed. */
  line: string;
  /** Enclosing block headers, outermost first, e.g. ["http", "server", "location ~ \\.php$"]. */
  context: string[];
  /**
   * One id per enclosing block, parallel to `context`: two `server` blocks have the same
   * header but different ids, which is what tells one virtual host's directives from another's.
   */
  blocks: number[];
}
