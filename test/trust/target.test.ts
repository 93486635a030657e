/**
 * The target policy at the pure level: every case of hostile-input.md "Target URLs" (1-21) with
 * the reason a 422 gives. Cases 15-17 depend on DNS: here only the classification of the answers;
 * the connect-time refusal is in agent.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { customHeaderProblems, maskHeaders } from '../../src/webhooks/headers.ts';
import { addressProblem, checkAllowList, createTargetPolicy, targetProblem } from '../../src/net/target.ts';
import { HeraldError } from '../../src/errors.ts';

const strict = createTargetPolicy([]);
/** What tests and development run with: loopback allowed. */
const loopbackAllowed = createTargetPolicy(['127.0.0.0/8', '::1/128']);
/** An operator who allowed every private and link-local range. */
const everythingAllowed = createTargetPolicy(['0.0.0.0/0', '::/0']);

function refuses(url: string, reason: string, policy = strict) {
  assert.equal(targetProblem(url, policy), reason, url);
}

describe('target URLs: loopback in every spelling (cases 1, 2, 13)', () => {
  it('refuses 127.0.0.1 as a loopback address', () => {
    refuses('http://127.0.0.1/', 'is a loopback address (127.0.0.1)');
  });

  it('refuses localhost by name in any case and with a trailing dot, even when loopback is allowed', () => {
    for (const policy of [strict, loopbackAllowed]) {
      refuses('http://LOCALHOST/', 'is a local host name (localhost)', policy);
      refuses('http://localhost./', 'is a local host name (localhost.)', policy);
      refuses('http://api.localhost:8080/x', 'is a local host name (api.localhost)', policy);
    }
  });

  it('refuses hex, decimal, octal and short forms of 127.0.0.1', () => {
    for (const url of [
      'http://0x7f.1/',
      'http://2130706433/',
      'http://0177.0.0.1/',
      'http://017700000001/',
      'http://0x7f000001/',
      'http://127.1/',
    ]) {
      refuses(url, 'is a loopback address (127.0.0.1)');
    }
  });

  it('refuses percent-encoded and full-width digit spellings of 127.0.0.1', () => {
    refuses('http://%31%32%37.0.0.1/', 'is a loopback address (127.0.0.1)');
    refuses('http://①②⑦.0.0.1/', 'is a loopback address (127.0.0.1)');
    refuses('http://１２７.０.０.１/', 'is a loopback address (127.0.0.1)');
  });

  it('accepts loopback literals once the operator allows loopback', () => {
    assert.equal(targetProblem('http://127.0.0.1:4000/hook', loopbackAllowed), null);
    assert.equal(targetProblem('http://0x7f.1/', loopbackAllowed), null);
    assert.equal(targetProblem('http://[::1]:4000/', loopbackAllowed), null);
  });
});

describe('target URLs: private, unspecified and special IPv4 ranges (cases 3, 4, 12)', () => {
  it('refuses 012.0.0.1, which the parser reads as octal 10.0.0.1', () => {
    refuses('http://012.0.0.1/', 'is a private address (10.0.0.1)');
  });

  it('refuses 0 and 0.0.0.0 (0.0.0.0/8)', () => {
    refuses('http://0/', 'is an unspecified address (0.0.0.0)');
    refuses('http://0.0.0.0/', 'is an unspecified address (0.0.0.0)');
    refuses('http://0.1.2.3/', 'is an unspecified address (0.1.2.3)');
  });

  const cases: Array<[string, string]> = [
    ['100.64.0.1', 'is a shared (carrier-grade NAT) address (100.64.0.1)'],
    ['198.18.0.1', 'is a benchmarking address (198.18.0.1)'],
    ['198.19.255.254', 'is a benchmarking address (198.19.255.254)'],
    ['192.0.0.8', 'is an IETF protocol assignment address (192.0.0.8)'],
    ['240.0.0.1', 'is a reserved address (240.0.0.1)'],
    ['255.255.255.255', 'is the broadcast address (255.255.255.255)'],
    ['224.0.0.1', 'is a multicast address (224.0.0.1)'],
    ['10.0.0.1', 'is a private address (10.0.0.1)'],
    ['172.16.0.1', 'is a private address (172.16.0.1)'],
    ['192.168.1.1', 'is a private address (192.168.1.1)'],
    ['169.254.1.1', 'is a link-local address (169.254.1.1)'],
  ];
  for (const [address, reason] of cases) {
    it(`refuses ${address}: it ${reason.replace(/ \(.*\)$/, '')}`, () => {
      refuses(`http://${address}/`, reason);
      assert.equal(addressProblem(address, strict), reason);
    });
  }

  it('accepts public addresses', () => {
    assert.equal(targetProblem('http://93.184.216.34/hook', strict), null);
    assert.equal(targetProblem('https://8.8.8.8:8443/', strict), null);
    assert.equal(addressProblem('1.1.1.1', strict), null);
  });
});

describe('target URLs: IPv6 (cases 5-10)', () => {
  it('refuses ::1 and ::', () => {
    refuses('http://[::1]/', 'is a loopback address (::1)');
    refuses('http://[::]/', 'is the unspecified address (::)');
  });

  it('judges IPv4-mapped addresses as the IPv4 address they carry', () => {
    refuses('http://[::ffff:127.0.0.1]/', 'is a loopback address (127.0.0.1)');
    refuses('http://[0:0:0:0:0:ffff:7f00:1]/', 'is a loopback address (127.0.0.1)');
    refuses('http://[::ffff:10.0.0.1]/', 'is a private address (10.0.0.1)');
    assert.equal(targetProblem('http://[::ffff:8.8.8.8]/', strict), null);
  });

  it('refuses ::ffff:169.254.169.254 as cloud metadata, even when everything is allowed', () => {
    refuses('http://[::ffff:169.254.169.254]/', 'is a cloud metadata address (169.254.169.254)', everythingAllowed);
  });

  it('refuses the IPv4-compatible ::127.0.0.1, naming the loopback address it carries', () => {
    refuses(
      'http://[::127.0.0.1]/',
      'is an IPv4-compatible IPv6 address (::7f00:1) carrying an address that is a loopback address (127.0.0.1)',
    );
  });

  it('refuses NAT64 and 6to4 addresses that carry the metadata address, even when everything is allowed', () => {
    for (const policy of [strict, everythingAllowed]) {
      refuses(
        'http://[64:ff9b::a9fe:a9fe]/',
        'is a NAT64 address (64:ff9b::a9fe:a9fe) carrying a cloud metadata address (169.254.169.254)',
        policy,
      );
      refuses(
        'http://[2002:a9fe:a9fe::]/',
        'is a 6to4 address (2002:a9fe:a9fe::) carrying a cloud metadata address (169.254.169.254)',
        policy,
      );
    }
  });

  it('refuses NAT64, 6to4 and Teredo addresses whatever they carry', () => {
    refuses('http://[64:ff9b::7f00:1]/', 'is a NAT64 address (64:ff9b::7f00:1) carrying an address that is a loopback address (127.0.0.1)');
    refuses('http://[2002:808:808::1]/', 'is a 6to4 address (2002:808:808::1) carrying 8.8.8.8');
    refuses('http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'is a Teredo address (2001:0:4136:e378:8000:63bf:3fff:fdd2)');
  });

  it('refuses unique local and link-local addresses, and zone ids the parser rejects', () => {
    refuses('http://[fd00::1]/', 'is a unique local (private) address (fd00::1)');
    refuses('http://[fe80::1]/', 'is a link-local address (fe80::1)');
    refuses('http://[fe80::1%25eth0]/', 'is not a valid URL');
    assert.equal(addressProblem('fe80::1%eth0', strict), 'is a link-local address (fe80::1%eth0)');
  });

  it('allows only global unicast (2000::/3) for IPv6', () => {
    assert.equal(targetProblem('http://[2606:4700:4700::1111]/', strict), null);
    refuses('http://[2001:db8::1]/', 'is a reserved address (2001:db8::1)');
    refuses('http://[ff02::1]/', 'is a multicast address (ff02::1)');
    refuses('http://[100::1]/', 'is a discard-only address (100::1)');
    assert.equal(addressProblem('4000::1', strict), 'is not a global unicast IPv6 address (4000::1)');
  });
});

describe('target URLs: cloud metadata is refused always (case 11)', () => {
  const metadata = ['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192'];
  for (const address of metadata) {
    it(`refuses ${address} even when the operator allows every address`, () => {
      refuses(`http://${address}/`, `is a cloud metadata address (${address})`, everythingAllowed);
      assert.equal(addressProblem(address, createTargetPolicy([`${address}/32`])), `is a cloud metadata address (${address})`);
    });
  }

  it('refuses fd00:ec2::254 (AWS metadata over IPv6) even when allowed', () => {
    refuses('http://[fd00:ec2::254]/', 'is a cloud metadata address (fd00:ec2::254)', everythingAllowed);
  });

  it('refuses metadata.google.internal by name, with or without a trailing dot', () => {
    refuses('http://metadata.google.internal/computeMetadata/v1/', 'is a cloud metadata host name (metadata.google.internal)', everythingAllowed);
    refuses('http://METADATA.google.internal./', 'is a cloud metadata host name (metadata.google.internal.)', everythingAllowed);
  });

  it('refuses the metadata address spelled in decimal', () => {
    refuses('http://2852039166/', 'is a cloud metadata address (169.254.169.254)', everythingAllowed);
  });
});

describe('target URLs: scheme, credentials and control characters (cases 14, 18, 19)', () => {
  it('refuses credentials in the URL, including the 127.0.0.1:80@ trick and an empty user', () => {
    const reason = 'must not contain credentials (use http_basic_auth and http_basic_password)';
    refuses('http://127.0.0.1:80@evil.example/', reason);
    refuses('https://user:pass@example.com/', reason);
    refuses('http://@example.com/', reason);
  });

  it('accepts only http and https', () => {
    refuses('file:///etc/passwd', 'must use http, https, amqp, nats or redis (not file:)');
    refuses('gopher://example.com:70/_x', 'must use http, https, amqp, nats or redis (not gopher:)');
    refuses('ftp://example.com/', 'must use http, https, amqp, nats or redis (not ftp:)');
    refuses('data:text/plain,hello', 'must use http, https, amqp, nats or redis (not data:)');
    refuses('javascript:alert(1)', 'must use http, https, amqp, nats or redis (not javascript:)');
    assert.equal(targetProblem('HTTPS://Example.COM/hook', strict), null);
  });

  it('refuses CR, LF, tabs and other control characters anywhere in the URL', () => {
    const reason = 'must not contain line breaks or control characters';
    refuses('http://example.com/\r\nX-Injected: 1', reason);
    refuses('http://exa\nmple.com/', reason);
    refuses('http://example.com/\t', reason);
    refuses('http://example.com/%00\u0000', reason);
    refuses('http://example.com/\u2028', reason);
  });

  it('refuses text that is not a URL, with surrounding spaces, or with port 0', () => {
    refuses('', 'must be a URL');
    refuses('not a url', 'is not a valid URL');
    refuses(' http://example.com/', 'must not start or end with spaces');
    refuses('http://example.com:0/', 'has an invalid port (0)');
    refuses(`http://example.com/${'a'.repeat(2048)}`, 'is longer than 2048 characters');
  });
});

describe('target URLs: names are judged by what they resolve to (cases 15-17)', () => {
  it('leaves ordinary host names to the connect-time check', () => {
    // localtest.me and 127.0.0.1.nip.io resolve to loopback: only the connect-time lookup can tell.
    assert.equal(targetProblem('http://localtest.me/', strict), null);
    assert.equal(targetProblem('http://127.0.0.1.nip.io/', strict), null);
  });

  it('refuses the loopback and private answers those names give', () => {
    assert.equal(addressProblem('127.0.0.1', strict), 'is a loopback address (127.0.0.1)');
    assert.equal(addressProblem('::ffff:192.168.0.10', strict), 'is a private address (192.168.0.10)');
  });
});

describe('custom headers (cases 19-21)', () => {
  const ok = (header_name: string, value = 'v') => ({ header_name, value });

  it('accepts ordinary headers', () => {
    assert.deepEqual(customHeaderProblems([ok('X-Api-Key', 'abc 123'), ok('Authorization', 'Bearer t')], { basicAuth: false }), {});
  });

  it('refuses CR, LF and NUL in a header name or value, naming the field', () => {
    const problems = customHeaderProblems(
      [ok('X-A\r\nHost: evil'), ok('X-B', 'x\r\nX-Injected: 1'), ok('X-C', 'a\u0000b'), ok('X\nD')],
      { basicAuth: false },
    );
    assert.deepEqual(problems, {
      'custom_header.0.header_name': ['must not contain line breaks or control characters'],
      'custom_header.1.value': ['must not contain line breaks or control characters'],
      'custom_header.2.value': ['must not contain line breaks or control characters'],
      'custom_header.3.header_name': ['must not contain line breaks or control characters'],
    });
  });

  it('refuses names that are not HTTP tokens, empty names and non-ASCII values', () => {
    assert.deepEqual(customHeaderProblems([ok('X Header'), ok(''), ok('X-E', 'café')], { basicAuth: false }), {
      'custom_header.0.header_name': ['is not a valid HTTP header name ("X Header")'],
      'custom_header.1.header_name': ['is required'],
      'custom_header.2.value': ['must contain only printable ASCII characters'],
    });
  });

  it('refuses headers that would override framing, routing, signature or delivery headers', () => {
    const names = [
      'Host',
      'content-length',
      'Transfer-Encoding',
      'Connection',
      'Content-Type',
      'User-Agent',
      'webhook-id',
      'Webhook-Timestamp',
      'webhook-signature',
      'X-Herald-Delivery',
      'X-Contentful-Topic',
    ];
    const problems = customHeaderProblems(names.map((n) => ok(n)), { basicAuth: false });
    assert.deepEqual(
      problems,
      Object.fromEntries(names.map((n, i) => [`custom_header.${i}.header_name`, [`is set by Herald and cannot be overridden (${n})`]])),
    );
  });

  it('refuses Authorization only when basic auth is set', () => {
    assert.deepEqual(customHeaderProblems([ok('authorization', 'Bearer x')], { basicAuth: false }), {});
    assert.deepEqual(customHeaderProblems([ok('authorization', 'Bearer x')], { basicAuth: true }), {
      'custom_header.0.header_name': ['cannot be set while basic auth is set (Authorization is sent from http_basic_auth)'],
    });
  });

  it('refuses the same header twice, whatever its case', () => {
    assert.deepEqual(customHeaderProblems([ok('X-Key'), ok('x-key')], { basicAuth: false }), {
      'custom_header.1.header_name': ['repeats custom_header.0.header_name (x-key)'],
    });
  });

  it('accepts 50 headers and refuses 51', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => ok(`X-H${i}`));
    assert.deepEqual(customHeaderProblems(fifty, { basicAuth: false }), {});
    assert.deepEqual(customHeaderProblems([...fifty, ok('X-H50')], { basicAuth: false }), {
      custom_header: ['has more than 50 headers (51)'],
    });
  });

  it('accepts a value of 8 KiB and refuses one byte more', () => {
    assert.deepEqual(customHeaderProblems([ok('X-Big', 'a'.repeat(8192))], { basicAuth: false }), {});
    assert.deepEqual(customHeaderProblems([ok('X-Big', 'a'.repeat(8193))], { basicAuth: false }), {
      'custom_header.0.value': ['is longer than 8 KiB (8192 bytes)'],
    });
  });

  it('masks Authorization and secret headers in stored request logs', () => {
    const masked = maskHeaders(
      {
        Authorization: 'Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ=',
        'X-Api-Key': 'sk_live_0123456789abcdef',
        'X-Short': 'abc',
        'X-Plain': 'visible',
      },
      new Set(['x-api-key', 'X-SHORT']),
    );
    assert.deepEqual(masked, {
      Authorization: 'Basic ****',
      'X-Api-Key': '****cdef',
      'X-Short': '****',
      'X-Plain': 'visible',
    });
  });
});

describe('the operator allow-list (HERALD_ALLOW_PRIVATE_TARGETS)', () => {
  it('allows exactly the listed ranges', () => {
    const policy = createTargetPolicy(['10.1.0.0/16', '192.168.1.5', 'fd12::/16']);
    assert.equal(addressProblem('10.1.2.3', policy), null);
    assert.equal(addressProblem('10.2.0.1', policy), 'is a private address (10.2.0.1)');
    assert.equal(addressProblem('192.168.1.5', policy), null);
    assert.equal(addressProblem('192.168.1.6', policy), 'is a private address (192.168.1.6)');
    assert.equal(addressProblem('fd12::1', policy), null);
    assert.equal(addressProblem('::ffff:10.1.0.9', policy), null);
  });

  it('refuses a malformed entry with an error naming the setting', () => {
    for (const bad of ['127.0.0.0/33', 'localhost', '10.0.0.0/8/8', '::1/129', '10.0.0.0/x']) {
      assert.throws(
        () => createTargetPolicy([bad]),
        (err: unknown) => err instanceof HeraldError && err.code === 'validation_failed' && /HERALD_ALLOW_PRIVATE_TARGETS/.test(err.message),
        bad,
      );
    }
  });

  it('is read from the environment by the config loader, which stops at a bad CIDR', () => {
    assert.deepEqual(loadConfig({}, { HERALD_ALLOW_PRIVATE_TARGETS: ' 127.0.0.0/8, ::1/128 ,' }).allowPrivateTargets, ['127.0.0.0/8', '::1/128']);
    assert.throws(
      () => loadConfig({}, { HERALD_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8,10.0.0.0/99' }),
      (err: unknown) =>
        err instanceof HeraldError && Object.keys(err.errors ?? {}).includes('HERALD_ALLOW_PRIVATE_TARGETS') && err.message.includes('10.0.0.0/99'),
    );
    assert.deepEqual(checkAllowList([]), []);
  });
});
