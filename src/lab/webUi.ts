// Temporal's Web UI as an operator sees it: the workflow list filtered by a visibility query, opened
// in headless Chromium (Debian's `chromium`, driven by puppeteer-core: no browser download), saved
// as a PNG, and its rows read back from the DOM. The UI is a single-page app that fills the table
// after the page loads, and the visibility store lags a finished workflow a little: `list` polls the
// DOM (bounded) and reloads the page until the rows satisfy the caller.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { PatchbayError } from '../lib/errors';

/** Debian's package; PATCHBAY_CHROMIUM names another Chromium or Chrome binary. */
export const CHROMIUM = process.env.PATCHBAY_CHROMIUM ?? '/usr/bin/chromium';

/** The UI's own column labels (Status, Workflow ID, …) and search attribute names (Cloud, Outcome, …). */
export const DEFAULT_COLUMNS = ['Status', 'Workflow ID', 'Type', 'Start', 'End'];

/** One row of the list: its workflow id and status, and every shown column's text by label. */
export interface WorkflowRow {
  workflowId: string;
  status: string;
  cells: Record<string, string>;
}

export interface WorkflowListPage {
  url: string;
  rows: WorkflowRow[];
  /** The PNG written. */
  screenshot: string;
}

export interface ListOptions {
  namespace?: string;
  /** Where to write the PNG (its folder is created). */
  screenshot: string;
  /** The table's columns, in order; search attributes by name. The first two are pinned. */
  columns?: string[];
  /** Reload until the rows satisfy this (visibility lags); without it, the first rendered list. */
  until?: (rows: WorkflowRow[]) => boolean;
  /** Bound on the whole wait (default 30 s). */
  timeoutMs?: number;
}

/** The list page the UI itself links to for a query (its filter bar writes the same URL). */
export function workflowListUrl(baseUrl: string, namespace: string, query: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/** What the page shows right now: rows, the empty state, a query error, or still loading. */
type Rendered =
  | { state: 'rows'; rows: Array<Record<string, string>> }
  | { state: 'empty' }
  | { state: 'error'; message: string }
  | { state: 'loading' };

/**
 * Evaluated in the page (as source text, so no transpiler helper leaks into it): the table's header
 * labels index each row's cells; the empty state and a query error have their own markup.
 */
const READ_LIST = `(() => {
  const text = (e) => ((e && e.textContent) || '').replace(/\\s+/g, ' ').trim();
  const trs = document.querySelectorAll('tr[data-testid="workflows-summary-configurable-table-row"]');
  if (trs.length) {
    const prefix = 'workflows-summary-table-header-cell-';
    const headers = Array.from(document.querySelectorAll('thead th')).map((th) => {
      const id = th.getAttribute('data-testid') || '';
      return id.startsWith(prefix) ? id.slice(prefix.length) : '';
    });
    const rows = Array.from(trs).map((tr) => {
      const cells = {};
      Array.from(tr.children).forEach((td, i) => { if (headers[i]) cells[headers[i]] = text(td); });
      return cells;
    });
    return { state: 'rows', rows };
  }
  const live = document.querySelector('[aria-live="polite"]');
  const alert = live && live.querySelector('.alert');
  if (alert) return { state: 'error', message: text(alert) };
  if (live && text(live.querySelector('h2')) === 'No Results') return { state: 'empty' };
  return { state: 'loading' };
})()`;

export class WebUi {
  private constructor(
    readonly baseUrl: string,
    private readonly browser: Browser,
  ) {}

  /** Starts headless Chromium for a UI at baseUrl (e.g. http://127.0.0.1:8233). */
  static async open(baseUrl: string, executablePath = CHROMIUM): Promise<WebUi> {
    const browser = await puppeteer
      .launch({
        executablePath,
        headless: true,
        args: [
          // Chromium's sandbox needs user namespaces it cannot have as root in a container.
          ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
          '--disable-dev-shm-usage',
          // The UI's host is the only one reachable: anything else the page or the browser would
          // fetch (news feeds, updates) fails at once instead of leaving the machine or hanging.
          `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${new URL(baseUrl).hostname}`,
        ],
      })
      .catch((error: Error) => {
        throw new PatchbayError(
          'ENVIRONMENT',
          `headless Chromium did not start from ${executablePath} (${error.message}); run "bash scripts/bootstrap.sh --fixtures" to install Debian's chromium`,
        );
      });
    return new WebUi(baseUrl, browser);
  }

  /** Opens the workflow list filtered by `query`, waits for its rows, screenshots it, reads it. */
  async list(query: string, options: ListOptions): Promise<WorkflowListPage> {
    const namespace = options.namespace ?? 'default';
    const url = workflowListUrl(this.baseUrl, namespace, query);
    const columns = options.columns ?? DEFAULT_COLUMNS;
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const page = await this.browser.newPage();
    try {
      await page.setViewport({ width: 1600, height: 800 });
      // The table's columns are a preference the UI keeps in localStorage, per namespace.
      const stored = { [namespace]: columns.map((label, i) => ({ label, pinned: i < 2 })) };
      await page.evaluateOnNewDocument(
        `localStorage.setItem('namespace-workflow-table-columns', ${JSON.stringify(JSON.stringify(stored))})`,
      );
      let rows: WorkflowRow[] = [];
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      for (;;) {
        const last = await settled(page, deadline);
        if (last.state === 'error')
          throw new PatchbayError('INVALID_INPUT', `the Web UI rejected ${query}: ${last.message}`);
        rows = last.state === 'rows' ? last.rows.map(toRow) : [];
        if (last.state !== 'loading' && (!options.until || options.until(rows))) break;
        if (Date.now() > deadline)
          throw new Error(
            `the Web UI's list for ${query} did not show what was expected in time (${last.state}: ${rows.map((r) => `${r.workflowId} ${r.status}`).join(', ') || 'no rows'})`,
          );
        await new Promise((r) => setTimeout(r, 500));
        await page.reload({ waitUntil: 'domcontentloaded' });
      }
      // Tall enough for every row, so the picture shows what the DOM said.
      await page.setViewport({ width: 1600, height: Math.min(4000, Math.max(800, 360 + rows.length * 40)) });
      mkdirSync(path.dirname(options.screenshot), { recursive: true });
      await page.screenshot({ path: options.screenshot as `${string}.png` });
      return { url, rows, screenshot: options.screenshot };
    } finally {
      await page.close();
    }
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** Polls the page until it shows rows, the empty state or an error (or the deadline passes). */
async function settled(page: Page, deadline: number): Promise<Rendered> {
  for (;;) {
    const now = (await page.evaluate(READ_LIST)) as Rendered;
    if (now.state !== 'loading' || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function toRow(cells: Record<string, string>): WorkflowRow {
  return { workflowId: cells['Workflow ID'] ?? '', status: cells.Status ?? '', cells };
}
