// @ts-check
// Researcher sign-in: OAuth2 authorization code flow with PKCE (S256) against the Cognito hosted UI.
//
// Only used when config.json has an "auth" block ({userPoolId, clientId, domain}). The code
// verifier, state and nonce live in sessionStorage for the round trip to the hosted UI; tokens
// live in memory and sessionStorage (never localStorage), so they end with the tab. The ID token
// goes to the API as "Authorization: Bearer ..." (the JWT authorizer's audience is the client id).

const TOKENS_KEY = "spotter.auth.tokens";
const PENDING_KEY = "spotter.auth.pending";
const SCOPES = "openid email";
const EXPIRY_MARGIN_S = 60; // refresh this long before the ID token expires
const PENDING_MAX_AGE_MS = 30 * 60 * 1000;

/** @typedef {{idToken: string, accessToken: string | null, refreshToken: string | null, expiresAt: number}} Tokens */
/** @typedef {{state: string, nonce: string, verifier: string, returnTo: string, createdAt: number}} Pending */
/** @typedef {{clientId?: unknown, domain?: unknown, region?: unknown, userPoolId?: unknown, redirectUri?: unknown}} AuthSettings */

export class AuthError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "AuthError";
  }
}

/** @param {Uint8Array} bytes */
function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** @param {string} verifier */
async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The claims of a JWT, unverified (API Gateway verifies the signature; the page only reads them).
 * @param {unknown} token @returns {Record<string, any> | null} */
export function jwtClaims(token) {
  try {
    const part = String(token).split(".")[1];
    const padded = part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** The hosted UI's base URL from config.json's `domain`: a full URL, a host name, or a domain prefix.
 * @param {AuthSettings} settings */
export function hostedUiBase({ domain, region, userPoolId }) {
  const raw = typeof domain === "string" ? domain.trim().replace(/\/+$/, "") : "";
  if (!raw) throw new AuthError("config.json auth.domain is missing");
  let url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) url = new URL(raw);
  else if (raw.includes(".")) url = new URL(`https://${raw}`);
  else {
    const where = region || (typeof userPoolId === "string" ? userPoolId.split("_")[0] : "");
    if (!where) throw new AuthError("config.json auth needs a region for a domain prefix");
    url = new URL(`https://${raw}.auth.${where}.amazoncognito.com`);
  }
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    throw new AuthError(`auth.domain must be https, got ${url.origin}`);
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/** @param {string} key @returns {Record<string, any> | null} */
function readJson(key) {
  try {
    const value = JSON.parse(sessionStorage.getItem(key) || "null");
    return value && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

export class Auth {
  /**
   * settings: config.json's auth block. `redirectUri` defaults to the page's folder
   * (https://<site>/), which is the app client's callback and sign-out URL.
   * @param {AuthSettings} settings
   * @param {{location?: Location}} [options]
   */
  constructor(settings, { location = window.location } = {}) {
    if (!settings || typeof settings.clientId !== "string" || !settings.clientId) {
      throw new AuthError("config.json auth.clientId is missing");
    }
    this.clientId = settings.clientId;
    this.base = hostedUiBase(settings);
    this.redirectUri = typeof settings.redirectUri === "string" && settings.redirectUri ? settings.redirectUri : new URL("./", location.href).href;
    this.location = location;
    /** @type {Tokens | null} */
    this.tokens = /** @type {Tokens | null} */ (readJson(TOKENS_KEY));
    /** @type {Set<(auth: Auth) => void>} */
    this.listeners = new Set();
    /** @type {Promise<string | null> | null} */
    this.refreshing = null;
  }

  /** Calls `listener(auth)` whenever the user signs in or out. */
  /** @param {(auth: Auth) => void} listener */
  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit() {
    for (const listener of this.listeners) {
      try {
        listener(this);
      } catch (err) {
        console.error(err);
      }
    }
  }

  get signedIn() {
    return Boolean(this.tokens && this.tokens.idToken);
  }

  get claims() {
    return this.tokens && this.tokens.idToken ? jwtClaims(this.tokens.idToken) || {} : {};
  }

  get email() {
    const claims = this.claims;
    return String(claims.email || claims["cognito:username"] || claims.sub || "");
  }

  /** @param {Tokens | null} tokens */
  save(tokens) {
    this.tokens = tokens;
    if (tokens) sessionStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
    else sessionStorage.removeItem(TOKENS_KEY);
  }

  /** Forget the tokens here (no redirect); the page shows "Sign in" again. */
  drop() {
    const was = this.signedIn;
    this.save(null);
    if (was) this.emit();
  }

  /** Finish a sign-in if the URL carries ?code=&state= (or ?error=) from the hosted UI. */
  async start() {
    const url = new URL(this.location.href);
    const params = url.searchParams;
    if (!params.has("state") || !(params.has("code") || params.has("error"))) {
      if (this.signedIn) await this.idToken(); // a stored session: refresh it now if it has expired
      return;
    }
    const pending = readJson(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY); // one round trip, one use
    const code = params.get("code");
    const state = params.get("state");
    const error = params.get("error");
    const description = params.get("error_description");
    for (const key of ["code", "state", "error", "error_description"]) params.delete(key);
    const hash = url.hash || (pending && typeof pending.returnTo === "string" ? pending.returnTo : "");
    const query = params.toString();
    history.replaceState(null, "", `${url.pathname}${query ? `?${query}` : ""}${hash}`);

    if (!pending || pending.state !== state || Date.now() - (pending.createdAt || 0) > PENDING_MAX_AGE_MS) {
      throw new AuthError("Sign-in answer did not match a sign-in started here; please sign in again");
    }
    if (error) throw new AuthError(`Sign-in failed: ${description || error}`);
    const tokens = await this.tokenRequest({
      grant_type: "authorization_code",
      client_id: this.clientId,
      code: code || "",
      redirect_uri: this.redirectUri,
      code_verifier: pending.verifier,
    });
    const claims = jwtClaims(tokens.idToken);
    if (!claims || claims.aud !== this.clientId) throw new AuthError("Sign-in returned an ID token for another client");
    if (pending.nonce && claims.nonce !== pending.nonce) throw new AuthError("Sign-in returned an ID token with the wrong nonce");
    this.save(tokens);
    this.emit();
  }

  /** @param {Record<string, string>} form @returns {Promise<Tokens>} */
  async tokenRequest(form) {
    let response;
    try {
      response = await fetch(`${this.base}/oauth2/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      });
    } catch (err) {
      throw new AuthError(`Cannot reach the sign-in service (${err instanceof Error ? err.message : String(err)})`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      /* not JSON */
    }
    if (!response.ok || !body || typeof body.id_token !== "string") {
      const why = (body && (body.error_description || body.error)) || `HTTP ${response.status}`;
      throw new AuthError(`Sign-in service refused: ${why}`);
    }
    const claims = jwtClaims(body.id_token) || {};
    const lifetime = Number(body.expires_in) > 0 ? Number(body.expires_in) : 3600;
    const expiresAt = Number.isFinite(claims.exp) ? claims.exp : Math.floor(Date.now() / 1000) + lifetime;
    return {
      idToken: body.id_token,
      accessToken: typeof body.access_token === "string" ? body.access_token : null,
      refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : (this.tokens && this.tokens.refreshToken) || null,
      expiresAt,
    };
  }

  /** The ID token for the API, refreshed first when it is (nearly) expired; null if signed out. */
  /** @returns {Promise<string | null>} */
  async idToken() {
    const tokens = this.tokens;
    if (!tokens || !tokens.idToken) return null;
    if (tokens.expiresAt - EXPIRY_MARGIN_S > Date.now() / 1000) return tokens.idToken;
    if (!tokens.refreshToken) {
      this.drop();
      return null;
    }
    if (!this.refreshing) {
      const refreshToken = tokens.refreshToken;
      this.refreshing = this.tokenRequest({ grant_type: "refresh_token", client_id: this.clientId, refresh_token: refreshToken })
        .then((fresh) => {
          if (jwtClaims(fresh.idToken)?.aud !== this.clientId) throw new AuthError("refreshed ID token is for another client");
          this.save(fresh);
          return fresh.idToken;
        })
        .catch(() => {
          this.drop();
          return null;
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  /** Go to the hosted UI's sign-in page; it comes back to redirectUri with ?code=&state=. */
  async signIn() {
    const verifier = randomString(48); // 64 characters, within RFC 7636's 43..128
    const pending = {
      state: randomString(24),
      nonce: randomString(24),
      verifier,
      returnTo: this.location.hash || "",
      createdAt: Date.now(),
    };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(`${this.base}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: this.clientId,
      redirect_uri: this.redirectUri,
      scope: SCOPES,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await challengeOf(verifier),
      code_challenge_method: "S256",
    }).toString();
    this.location.assign(url.href);
  }

  /** Forget the tokens and end the hosted UI session; it comes back to redirectUri. */
  signOut() {
    this.save(null);
    sessionStorage.removeItem(PENDING_KEY);
    const url = new URL(`${this.base}/logout`);
    url.search = new URLSearchParams({ client_id: this.clientId, logout_uri: this.redirectUri }).toString();
    this.location.assign(url.href);
  }
}
