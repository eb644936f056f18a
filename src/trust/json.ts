/**
 * JSON helpers for merging into files other programs own (daemon.json, docker's config.json).
 *
 * Parse errors are described by line and column only: `JSON.parse`'s own messages quote the
 * surrounding text, and config.json holds credentials that must never reach an error or a log.
 *
 * No imports: this module is serialized by value into the dynamic provider (see provider.ts).
 */

/** Where and why a JSON text stops being valid. */
export interface JsonSyntaxError {
  readonly line: number;
  readonly column: number;
  readonly problem: string;
}

/** A parsed JSON object plus what is needed to write it back in the same style. */
export interface JsonDocument {
  /** The parsed top-level object (an empty object for a missing, empty or blank file). */
  readonly data: Record<string, unknown>;
  /** Indentation unit found in the text (`fallback` when the text shows none). */
  readonly indent: string;
  /** Whether the text ended with a newline (true for new files). */
  readonly trailingNewline: boolean;
}

/**
 * Parses `text` as a JSON object. `label` names the file in errors (e.g.
 * `daemonConfigPath /etc/docker/daemon.json`). Blank text is an empty object.
 */
export function parseJsonObject(text: string, label: string, fallbackIndent: string): JsonDocument {
  if (text.trim() === "") {
    return { data: {}, indent: fallbackIndent, trailingNewline: true };
  }
  const syntax = findJsonSyntaxError(text);
  if (syntax !== undefined) {
    throw new Error(
      `${label} is not valid JSON: line ${syntax.line}, column ${syntax.column}: ${syntax.problem}. ` +
        "The file was left unchanged; fix it (or move it away) and run again.",
    );
  }
  const data: unknown = JSON.parse(text.replace(/^\uFEFF/, ""));
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error(
      `${label} must hold a JSON object ({...}) at the top level, found ${
        Array.isArray(data) ? "an array" : data === null ? "null" : `a ${typeof data}`
      }. The file was left unchanged; fix it (or move it away) and run again.`,
    );
  }
  return {
    data: data as Record<string, unknown>,
    indent: detectIndent(text, fallbackIndent),
    trailingNewline: text.endsWith("\n"),
  };
}

/** Renders `data` in the document's style. */
export function renderJson(
  data: Record<string, unknown>,
  indent: string,
  trailingNewline: boolean,
): string {
  return JSON.stringify(data, null, indent) + (trailingNewline ? "\n" : "");
}

/** The indentation unit of the first indented line of `text`; `fallback` when there is none. */
export function detectIndent(text: string, fallback: string): string {
  const match = /\n([ \t]+)\S/.exec(text);
  if (!match) {
    return fallback;
  }
  const lead = match[1];
  return lead.startsWith("\t") ? "\t" : " ".repeat(Math.min(lead.length, 8));
}

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  // The text itself is never quoted back: it may hold credentials.
  const stop = new Error("json syntax");
  let stopAt = 0;
  let stopProblem = "";
  const fail = (problem: string, at = pos): never => {
    stopAt = at;
    stopProblem = problem;
    throw stop;
  };
  const describe = (at: number): string =>
    at >= text.length ? "the end of the file" : "another character";
  const skipSpace = () => {
    while (pos < text.length && " \t\n\r".includes(text[pos])) pos++;
  };
  const expect = (what: string) => fail(`expected ${what}, found ${describe(pos)}`);

  const parseString = () => {
    const start = pos;
    pos++; // opening quote
    while (pos < text.length) {
      const c = text[pos];
      if (c === '"') {
        pos++;
        return;
      }
      if (c === "\\") {
        const e = text[pos + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) {
            fail("invalid \\u escape in a string", pos);
          }
          pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          pos += 2;
        } else {
          fail("invalid escape in a string", pos);
        }
        continue;
      }
      if (c.charCodeAt(0) < 0x20) {
        fail("unescaped control character (e.g. a raw newline) in a string", pos);
      }
      pos++;
    }
    fail("string is never closed", start);
  };

  const parseValue = (depth: number): void => {
    if (depth > 512) fail("nesting is too deep");
    skipSpace();
    const c = text[pos];
    if (c === "{") {
      pos++;
      skipSpace();
      if (text[pos] === "}") {
        pos++;
        return;
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') expect("a property name in double quotes");
        parseString();
        skipSpace();
        if (text[pos] !== ":") expect('":" after the property name');
        pos++;
        parseValue(depth + 1);
        skipSpace();
        if (text[pos] === ",") {
          pos++;
          skipSpace();
          if (text[pos] === "}") fail('trailing "," before "}"');
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return;
        }
        expect('"," or "}"');
      }
    }
    if (c === "[") {
      pos++;
      skipSpace();
      if (text[pos] === "]") {
        pos++;
        return;
      }
      for (;;) {
        parseValue(depth + 1);
        skipSpace();
        if (text[pos] === ",") {
          pos++;
          skipSpace();
          if (text[pos] === "]") fail('trailing "," before "]"');
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return;
        }
        expect('"," or "]"');
      }
    }
    if (c === '"') {
      parseString();
      return;
    }
    const number = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos));
    if (number && number[0] !== "" && number[0] !== "-") {
      pos += number[0].length;
      return;
    }
    for (const literal of ["true", "false", "null"]) {
      if (text.startsWith(literal, pos)) {
        pos += literal.length;
        return;
      }
    }
    expect("a value (object, array, string, number, true, false or null)");
  };

  try {
    parseValue(0);
    skipSpace();
    if (pos < text.length) {
      fail("unexpected text after the end of the JSON value");
    }
    return undefined;
  } catch (e) {
    if (e !== stop) {
      throw e;
    }
    const before = text.slice(0, stopAt);
    const line = before.split("\n").length;
    const column = stopAt - (before.lastIndexOf("\n") + 1) + 1;
    return { line, column, problem: stopProblem };
  }
}
