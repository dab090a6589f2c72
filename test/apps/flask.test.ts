// Flask under gunicorn (Debian's python3-flask and gunicorn) behind the real proxy process, in Chromium: the
// tutorial's own Hello World app; and a Flask app that takes a form upload and says who sent it — the user
// header as WSGI gives it, a name beyond Latin-1 decoded from its UTF-8 bytes as the README tells apps to.
import { htpasswdLine } from '../helpers/htpasswd.ts'
import t from 'tap'
import { appSession } from '../helpers/app-browser.ts'
import { FLASK_HELLO, startFlask } from '../helpers/apps.ts'
import { basic, send } from '../helpers/http.ts'

t.test('the tutorial\'s Flask app: the browser\'s login prompt, then Hello World; nothing without credentials', async (t) => {
  const flask = await startFlask('app:app', FLASK_HELLO)
  t.teardown(async () => { await flask.stop() })
  const { proxy, page, shot } = await appSession(t, 'flask', flask.url)
  const res = await page.goto(`${proxy.url}/`)
  t.equal(res?.status(), 200)
  t.equal(await page.textContent('body'), 'Hello World')
  await shot('1-hello-world')
  const anonymous = await send(`${proxy.url}/`)
  t.equal(anonymous.status, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Basic realm="Restricted", charset="UTF-8"')
})

const UPLOAD_APP = `from flask import Flask, request

app = Flask(__name__)


def user():
    # Header values reach WSGI as Latin-1 strings; the proxy sends non-ASCII names as UTF-8 bytes.
    return request.headers.get("X-Forwarded-User", "").encode("latin-1").decode("utf-8")


@app.route("/", methods=["GET"])
def form():
    return '<form method="post" action="/upload" enctype="multipart/form-data"><input type="file" name="data"><button>Upload</button></form>'


@app.route("/upload", methods=["POST"])
def upload():
    data = request.files["data"].read()
    return f"{user()} uploaded {len(data)} bytes"
`

t.test('a Flask upload form: a multipart upload through the proxy, and who sent it (a UTF-8 user name)', async (t) => {
  const flask = await startFlask('app:app', UPLOAD_APP)
  t.teardown(async () => { await flask.stop() })
  const dir = flask.dir
  const file = dir.file('htpasswd', `${htpasswdLine('Łukasz', 'pw', '-B', 5)}\n`)
  const { proxy, browser, shot } = await appSession(t, 'flask-upload', flask.url, { HTPASSWD_FILE: file })
  const context = await browser.newContext({ httpCredentials: { username: 'Łukasz', password: 'pw' } })
  const page = await context.newPage()
  await page.goto(`${proxy.url}/`)
  const payload = Buffer.alloc(300_000, 0x61) // past the proxy's 64 KiB read whole: streamed
  await page.setInputFiles('input[type=file]', { name: 'data.bin', mimeType: 'application/octet-stream', buffer: payload })
  await Promise.all([page.waitForURL(`${proxy.url}/upload`), page.click('button')])
  t.equal(await page.textContent('body'), 'Łukasz uploaded 300000 bytes')
  await page.screenshot({ path: 'test-artifacts/apps/flask-upload-2-done.png' })
  await shot('1-form')
  await context.close()
  t.equal((await send(`${proxy.url}/`, { headers: { authorization: basic('Łukasz', 'wrong') } })).status, 401)
})
