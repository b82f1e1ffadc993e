import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRenewal, retryDelay } from './schedule.js';

const cfg = { domains: ['shop.example.com'], renewAtFraction: 2 / 3, jitterFraction: 0.05, retryMinMs: 60_000, retryMaxMs: 6 * 3_600_000 };
const day = 86_400_000;
const t0 = new Date('2026-01-01T00:00:00Z');
const cert = (over: Partial<{ notBefore: Date; notAfter: Date; dnsNames: string[]; selfIssued: boolean }> = {}) => ({
  notBefore: t0,
  notAfter: new Date(t0.getTime() + 90 * day),
  dnsNames: ['shop.example.com'],
  selfIssued: false,
  ...over,
});

test('a 90-day certificate is renewed at day 60, plus at most 5% of the 30 days left', () => {
  const now = new Date(t0.getTime() + day);
  assert.equal(nextRenewal(cert(), cfg, now, () => 0).at.getTime(), t0.getTime() + 60 * day);
  assert.equal(nextRenewal(cert(), cfg, now, () => 1).at.getTime(), t0.getTime() + 60 * day + 0.05 * 30 * day);
});

test('past the renewal point, or a placeholder, or other names: now', () => {
  const now = new Date(t0.getTime() + 61 * day);
  assert.equal(nextRenewal(cert(), cfg, now, () => 0).at, now);
  const early = new Date(t0.getTime() + day);
  assert.equal(nextRenewal(cert({ selfIssued: true }), cfg, early).at, early);
  assert.match(nextRenewal(cert({ dnsNames: ['other.example.com'] }), cfg, early).why, /names other\.example\.com, server\.acme\.domains shop\.example\.com/);
  // the order of the names does not matter
  const two = { ...cfg, domains: ['b.example.com', 'a.example.com'] };
  assert.notEqual(nextRenewal(cert({ dnsNames: ['a.example.com', 'b.example.com'] }), two, early, () => 0).at, early);
});

test('backoff doubles from retryMinMs to the cap, never below the minimum', () => {
  assert.equal(retryDelay(1, cfg, () => 0), 60_000);
  assert.equal(retryDelay(2, cfg, () => 1), 120_000);
  assert.equal(retryDelay(3, cfg, () => 0.5), Math.round(240_000 * 0.75));
  assert.equal(retryDelay(40, cfg, () => 1), 6 * 3_600_000);
  assert.ok(retryDelay(40, cfg, () => 0) >= 3 * 3_600_000);
});
