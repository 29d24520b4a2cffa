/**
 * The chat room's browser page (examples/chat.ts serves it at `/`): plain HTML and a few lines of script
 * around the browser's own `WebSocket`, connecting to `/ws` on the same origin.
 */

/** The page, as served. */
export const CHAT_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sansws chat</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; }
  header { padding: .5em 1em; background: #234; color: #fff; display: flex; justify-content: space-between; }
  #log { flex: 1; overflow-y: auto; padding: .5em 1em; margin: 0; white-space: pre-wrap; }
  #log .system { color: #777; font-style: italic; }
  form { display: flex; gap: .5em; padding: .5em 1em; border-top: 1px solid #ccc; }
  #text { flex: 1; font: inherit; padding: .3em; }
</style>
</head>
<body>
<header><strong>sansws chat</strong><span id="status">connecting…</span></header>
<pre id="log" aria-live="polite"></pre>
<form id="form" autocomplete="off">
  <input id="text" maxlength="1000" placeholder="Say something, or /nick yourname" autofocus>
  <button>Send</button>
</form>
<script>
  const log = document.getElementById('log');
  const status = document.getElementById('status');
  const form = document.getElementById('form');
  const text = document.getElementById('text');
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let socket = null;

  function show(line) {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    const row = document.createElement('div');
    if (line.startsWith('* ')) row.className = 'system';
    row.textContent = line;
    log.appendChild(row);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = () => { status.textContent = 'connected'; };
    socket.onmessage = (event) => show(event.data);
    socket.onclose = (event) => {
      status.textContent = 'disconnected (' + event.code + (event.reason ? ' ' + event.reason : '') + ')';
      socket = null;
      if (event.code !== 1008) setTimeout(connect, 2000);
    };
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (socket !== null && socket.readyState === WebSocket.OPEN && text.value.trim() !== '') {
      socket.send(text.value);
      text.value = '';
    }
  });
  connect();
</script>
</body>
</html>
`;
