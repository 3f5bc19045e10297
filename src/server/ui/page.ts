/** The web UI's one page; everything in it comes from /api/ through /ui/app.js. */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>retrohook</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
</head>
<body>
<header>
  <h1>retrohook</h1>
  <nav>
    <a href="#/" data-page="overview">Overview</a>
    <a href="#/log" data-page="log">Delivery log</a>
    <a href="#/dead" data-page="dead">Dead letters</a>
    <a href="#/record" data-page="record">Record</a>
  </nav>
  <span id="updated"></span>
</header>
<div id="flash" role="status" aria-live="polite"></div>
<main id="main"><p class="muted">Loading…</p></main>
</body>
</html>
`;

/** Shown instead of the UI when `admin_token` is set and the browser has not signed in. */
export function loginPage(message = ""): string {
  const note = message ? `<p class="error">${escapeHtml(message)}</p>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>retrohook — sign in</title>
<link rel="icon" href="data:,">
<style>
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2328; }
.login { max-width: 360px; margin: 80px auto; padding: 24px; border: 1px solid #d0d7de; border-radius: 8px; }
input { width: 100%; margin: 8px 0 12px; padding: 4px 6px; font: inherit; }
.error { color: #cf222e; }
</style>
</head>
<body>
<form class="login" method="post" action="/login">
  <h1>retrohook</h1>
  <p>This server needs its admin token (<code>server.admin_token</code>).</p>
  ${note}
  <label>Admin token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
