// Lighthouse (mobile, simulated slow 4G and a 4x slower CPU: its defaults) on
// the verifier's first two screens: sign-in, and the household list after
// signing in. Prints performance and accessibility scores and LCP.
// Usage: node audit.mjs WEB_URL USERNAME PASSWORD
import lighthouse from 'lighthouse';
import puppeteer from 'puppeteer-core';

const [web, user, password] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--remote-debugging-port=9333'],
});
const port = 9333;
const flags = { port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility'] };

async function audit(url, name, keepStorage) {
  const r = await lighthouse(url, { ...flags, disableStorageReset: keepStorage });
  const c = r.lhr.categories;
  const lcp = r.lhr.audits['largest-contentful-paint'].numericValue;
  const failed = Object.values(r.lhr.audits)
    .filter(a => a.score !== null && a.score < 1 && r.lhr.categories.accessibility.auditRefs.some(ref => ref.id === a.id))
    .map(a => a.id);
  console.log(`${name}: performance ${Math.round(c.performance.score * 100)}, accessibility ${Math.round(c.accessibility.score * 100)}, LCP ${(lcp / 1000).toFixed(1)} s${failed.length ? ', accessibility failures: ' + failed.join(' ') : ''}`);
}

await audit(`${web}/sign-in`, 'sign-in', false);
// Sign in once in the same browser, then audit the list with the session kept.
const page = await browser.newPage();
await page.goto(`${web}/sign-in`, { waitUntil: 'networkidle0' });
await page.type('#username', user);
await page.type('#password', password);
await page.click('#sign-in');
await page.waitForSelector('#household-list li', { timeout: 30000 });
await page.close();
await audit(`${web}/households`, 'household list', true);
await browser.close();
