import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeraldError } from '../../src/errors.ts';
import { toPositional, translateError } from '../../src/store/postgres.ts';

describe('rewriting ? placeholders for PostgreSQL', () => {
  it('numbers each placeholder left to right', () => {
    assert.equal(toPositional('SELECT * FROM t WHERE a = ? AND b IN (?, ?)'), 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)');
  });

  it('leaves question marks inside strings, quoted names and comments alone', () => {
    assert.equal(toPositional(`SELECT 'why?', 'it''s ?', "odd?col" FROM t WHERE x = ?`), `SELECT 'why?', 'it''s ?', "odd?col" FROM t WHERE x = $1`);
    assert.equal(toPositional('SELECT ? -- really?\n, ? /* and ? here */ , ?'), 'SELECT $1 -- really?\n, $2 /* and ? here */ , $3');
  });

  it('copes with an unterminated string or comment without inventing placeholders', () => {
    assert.equal(toPositional("SELECT ?, 'open ?"), "SELECT $1, 'open ?");
    assert.equal(toPositional('SELECT ? /* open ?'), 'SELECT $1 /* open ?');
  });

  it('leaves a statement without placeholders as it is', () => {
    assert.equal(toPositional("SELECT 1 AS one WHERE 'a' = 'a'"), "SELECT 1 AS one WHERE 'a' = 'a'");
  });
});

describe('PostgreSQL errors as Herald errors', () => {
  const codeOf = (err: unknown) => (err instanceof HeraldError ? err.code : 'unchanged');
  it('says unavailable (503) when the server is unreachable, restarting, or out of connections or disk', () => {
    for (const code of ['ECONNREFUSED', '53300', '53100', '57P03', '08006']) assert.equal(codeOf(translateError({ code })), 'unavailable', code);
    assert.equal(codeOf(translateError(new Error('timeout exceeded when trying to connect'))), 'unavailable');
  });

  it('says busy (503, retry soon) for a deadlock or serialization failure', () => {
    const err = translateError({ code: '40P01' }) as HeraldError;
    assert.equal(err.code, 'unavailable');
    assert.equal(err.retryAfter, 1);
  });

  it('says conflict for a unique violation, bad request for a value the database refuses', () => {
    assert.equal(codeOf(translateError({ code: '23505' })), 'conflict');
    assert.equal(codeOf(translateError({ code: '22021' })), 'bad_request');
    assert.equal(codeOf(translateError({ code: '54000' })), 'bad_request');
  });

  it('rethrows anything else unchanged, so bugs stay visible', () => {
    const syntax = { code: '42601', message: 'syntax error' };
    assert.equal(translateError(syntax), syntax);
  });
});
