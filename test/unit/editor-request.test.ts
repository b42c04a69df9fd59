/** The strict check of the editor's spool requests (src/editor/request.ts): every kind of refusal, and what passes. */
import { inspect } from 'node:util';
import { MAX_REQUEST_BYTES, parseRequest, type RequestFile } from '../../src/editor/request';

const ID = '3f2c9a1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f';
const file = (body: unknown, name = `${ID}.json`, extra: Partial<RequestFile> = {}): RequestFile => {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { name, kind: 'file', size: bytes.length, bytes, links: 1, ...extra };
};
const refusal = (f: RequestFile) => {
  const r = parseRequest(f);
  if (r.ok) throw new Error('expected a refusal');
  return r;
};

describe('parseRequest accepts', () => {
  test('renew, client-add and client-revoke exactly as the contract writes them', () => {
    expect(parseRequest(file({ version: 1, id: ID, action: 'renew' }))).toEqual({ ok: true, request: { id: ID, action: 'renew' } });
    const add = parseRequest(file({ version: 1, id: ID, action: 'client-add', name: 'phone', password: 'chosen-by-editor' }));
    expect(add.ok && add.request.action === 'client-add' && add.request.name).toBe('phone');
    expect(add.ok && add.request.action === 'client-add' && add.request.password.reveal()).toBe('chosen-by-editor');
    expect(parseRequest(file({ version: 1, id: ID, action: 'client-revoke', serial: '1A2B3C' }))).toEqual({ ok: true, request: { id: ID, action: 'client-revoke', serial: '1a2b3c' } });
    expect(parseRequest(file({ version: 1, id: ID, action: 'client-revoke', serial: '1A:2B:3C' }))).toEqual({ ok: true, request: { id: ID, action: 'client-revoke', serial: '1a2b3c' } });
  });

  test('keeps the password out of inspection and JSON', () => {
    const add = parseRequest(file({ version: 1, id: ID, action: 'client-add', name: 'phone', password: 'sentinel-PASSWORD-91' }));
    expect(inspect(add, { depth: 5 })).not.toContain('sentinel-PASSWORD-91');
    expect(JSON.stringify(add)).not.toContain('sentinel-PASSWORD-91');
  });
});

describe('parseRequest refuses', () => {
  const cases: Array<[string, RequestFile, RegExp, boolean]> = [
    ['a name that is not <id>.json', file({ version: 1, id: ID, action: 'renew' }, 'renew.txt'), /name is not <id>\.json/, false],
    ['an id that is too short', file({ version: 1, id: 'abc', action: 'renew' }, 'abc.json'), /name is not/, false],
    ['an id with other characters', file({}, 'bad_id!!.json'), /name is not/, false],
    ['a symbolic link', file({ version: 1, id: ID, action: 'renew' }, undefined, { kind: 'link', bytes: undefined }), /symbolic link/, true],
    ['a FIFO or folder', file('', undefined, { kind: 'other', bytes: undefined }), /not a regular file/, true],
    ['a hard link', file({ version: 1, id: ID, action: 'renew' }, undefined, { links: 2 }), /other hard links/, true],
    ['more than 4096 bytes', file({ version: 1, id: ID, action: 'renew', x: 'y'.repeat(MAX_REQUEST_BYTES) }), /larger than 4096 bytes/, true],
    ['a file whose size says more than 4096', file('', undefined, { size: 10_000, bytes: undefined }), /larger than 4096/, true],
    ['bytes that are not UTF-8', file('', undefined, { bytes: Buffer.from([0xff, 0xfe, 0x7b]), size: 3 }), /not UTF-8/, true],
    ['text that is not JSON', file('renew please'), /not JSON/, true],
    ['JSON that is not an object', file([1, 2]), /not a JSON object/, true],
    ['JSON null', file('null'), /not a JSON object/, true],
    ['another version', file({ version: 2, id: ID, action: 'renew' }), /"version" is not 1/, true],
    ['a version as a string', file({ version: '1', id: ID, action: 'renew' }), /"version" is not 1/, true],
    ['an id that differs from the name', file({ version: 1, id: 'another-id-123', action: 'renew' }), /"id" is not the id in the file name/, true],
    ['an unknown action', file({ version: 1, id: ID, action: 'reboot' }), /"action" is not renew, client-add or client-revoke/, true],
    ['an action that is inherited from Object', file({ version: 1, id: ID, action: 'toString' }), /"action" is not/, true],
    ['an unknown field', file({ version: 1, id: ID, action: 'renew', force: true }), /unknown field "force" for renew/, true],
    ['a field of another action', file({ version: 1, id: ID, action: 'renew', name: 'phone' }), /unknown field "name"/, true],
    ['client-add without a password', file({ version: 1, id: ID, action: 'client-add', name: 'phone' }), /"password" is missing/, true],
    ['client-add with a bad name', file({ version: 1, id: ID, action: 'client-add', name: '../etc', password: 'long enough' }), /"name" is not/, true],
    ['client-add with a short password', file({ version: 1, id: ID, action: 'client-add', name: 'phone', password: 'short' }), /"password" is not a string of 8/, true],
    ['client-add with a password that is not a string', file({ version: 1, id: ID, action: 'client-add', name: 'phone', password: 12345678 }), /"password" is not a string/, true],
    ['client-add with a control character in the password', file({ version: 1, id: ID, action: 'client-add', name: 'phone', password: 'pass\nword1' }), /control character/, true],
    ['client-revoke with a serial that is not hex', file({ version: 1, id: ID, action: 'client-revoke', serial: 'xyz' }), /"serial" is not a hexadecimal/, true],
    ['client-revoke with stray colons', file({ version: 1, id: ID, action: 'client-revoke', serial: '1A::2B' }), /"serial" is not a hexadecimal/, true],
    ['client-revoke without a serial', file({ version: 1, id: ID, action: 'client-revoke' }), /"serial" is missing/, true],
  ];
  test.each(cases)('%s', (_what, f, reason, hasId) => {
    const r = refusal(f);
    expect(r.reason).toMatch(reason);
    expect(r.id).toBe(hasId ? ID : undefined);
  });

  test('never echoes control characters of an unknown field name', () => {
    const r = refusal(file({ version: 1, id: ID, action: 'renew', 'a\u001b[31mred': 1 }));
    expect(r.reason).not.toMatch(/[\u0000-\u001f]/);
  });
});
