/**
 * A user in front of Horizon: headless Chromium (Debian's package) driven by puppeteer-core
 * logs in through the login form, opens the instances page and takes a screenshot, as a person
 * checking the dashboard would. Chromium runs as root here, so without its sandbox.
 */
import { writeFile } from 'node:fs/promises';
import puppeteer from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface DashboardVisit {
  /** The page title after login (Horizon puts the panel's name there). */
  title: string;
  /** The text of the instances table. */
  instances: string;
  seconds: number;
}

/** Logs in as `user` and reads /project/instances/; the screenshot of that page goes to `screenshot`. */
export async function visitInstances(
  base: string,
  user: string,
  password: string,
  screenshot: string,
): Promise<DashboardVisit> {
  const t0 = Date.now();
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    page.setDefaultTimeout(120_000);
    await page.goto(`${base}/auth/login/`, { waitUntil: 'domcontentloaded' });
    await page.type('#id_username', user);
    await page.type('#id_password', password);
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('#loginBtn')]);
    if (page.url().includes('/auth/login/')) {
      const error = await page.$eval('.alert-danger, .error', (e) => e.textContent ?? '').catch(() => '');
      throw new Error(`Horizon refused the login of ${user}: ${error.trim() || page.url()}`);
    }
    await page.goto(`${base}/project/instances/`, { waitUntil: 'domcontentloaded' });
    const instances = await page.$eval('#instances tbody', (e) => e.textContent ?? '');
    await writeFile(screenshot, await page.screenshot({ fullPage: true }));
    return { title: await page.title(), instances: instances.replace(/\s+/g, ' '), seconds: (Date.now() - t0) / 1000 };
  } finally {
    await browser.close();
  }
}
