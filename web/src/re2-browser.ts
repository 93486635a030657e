/**
 * What the web app gets for `re2` (a native addon the server runs user patterns on): the browser's
 * RegExp, refusing what RE2 lacks with RE2's own words, so the form's pattern check
 * (src/webhooks/conditions.ts `patternProblem`) says what the server will say. Only the form's
 * early check runs here; the server checks every pattern again with RE2 itself when it is saved.
 * (src/http/routes/web.ts maps the import here when it bundles the app.)
 */
export default class RE2 {
  private readonly re: RegExp;
  constructor(pattern: string) {
    const backref = /\\([1-9]|k)/.exec(pattern);
    if (backref) throw new Error(`invalid escape sequence: \\${backref[1]}`);
    const look = /\(\?<?[=!]/.exec(pattern);
    if (look) throw new Error(`invalid perl operator: ${look[0]}`);
    this.re = new RegExp(pattern);
  }
  test(s: string): boolean {
    return this.re.test(s);
  }
}
