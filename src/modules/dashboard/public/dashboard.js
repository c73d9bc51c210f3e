/*
 * Stepline dashboard: plain browser JavaScript, no build step, no external resources. It talks only to the
 * server that served it: the REST API with the key entered once (kept in localStorage), and Socket.IO
 * (the client bundle that server serves at /socket.io/socket.io.js).
 *
 * How it stays right across reloads, tabs and lost connections:
 *  - State is loaded over REST (project lastSeq first, then the workflow list, the selected workflow and its
 *    logs), then the socket subscribes with `since` = the last seq this browser applied for the project
 *    (kept in localStorage, clamped to the project's lastSeq). The server replays every event after `since`,
 *    then live ones, in seq order, with no gap.
 *  - An event is applied once: events at or below the last applied seq are dropped; a workflow ignores events
 *    at or below its own `lastSeq` (already in what REST returned); log lines are keyed by id (= their seq).
 *  - On reconnect the socket subscribes again from the last applied seq: the missed events are replayed.
 *    An ack with `reset: true` (since older than the event log keeps) reloads state over REST.
 *  - Each tab keeps its own position; a BroadcastChannel tells the other tabs when the key changes.
 */
(function () {
  'use strict';

  var TERMINAL = { completed: true, failed: true, cancelled: true };
  var STORE = {
    key: 'stepline.key',
    project: 'stepline.project',
    since: function (p) {
      return 'stepline.since.' + p;
    },
  };
  var CONN_TEXT = { live: 'live', reconnecting: 'reconnecting\u2026', offline: 'offline' };
  var LIST_LIMIT = 50;
  var LOG_PAGE = 1000;
  var MAX_LOG_LINES = 2000;

  var $ = function (id) {
    return document.getElementById(id);
  };
  var enc = encodeURIComponent;

  var store = {
    get: function (k) {
      try {
        return window.localStorage.getItem(k);
      } catch (e) {
        return null;
      }
    },
    set: function (k, v) {
      try {
        window.localStorage.setItem(k, String(v));
      } catch (e) {
        /* storage full or disabled: the page still works, a reload just replays more */
      }
    },
    del: function (k) {
      try {
        window.localStorage.removeItem(k);
      } catch (e) {
        /* ignore */
      }
    },
  };

  var channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('stepline-dashboard') : null;

  var state = {
    key: null,
    socket: null,
    conn: 'offline',
    projects: [],
    project: null,
    /** bumped on every project switch or state reload: async work of an older generation is dropped */
    gen: 0,
    ready: false,
    workflows: new Map(),
    nextCursor: null,
    selected: null,
    logsFor: null,
    logs: new Map(),
    /** seq of the last event applied for state.project */
    lastApplied: 0,
    /** the project's lastSeq read before the REST snapshot: older events of unknown workflows are not ours */
    snapshotSeq: 0,
    /** workflowId → events that arrived while that workflow was being fetched */
    fetching: new Map(),
    canWrite: false,
    accessDenied: false,
    filters: { status: '', type: '' },
    queues: [],
    projectQueue: [],
    webhooks: [],
    lastReplayed: 0,
    /** how many times the server answered `reset` (our position had left the event log) */
    resets: 0,
    retryTimer: null,
    loadingGen: null,
    cancelling: new Set(),
  };

  // ---- HTTP --------------------------------------------------------------------------------------------

  function ApiError(status, body) {
    this.status = status;
    this.body = body;
    this.message = (body && body.message) || 'HTTP ' + status;
  }

  function api(path, opts) {
    opts = opts || {};
    var headers = { authorization: 'Bearer ' + state.key };
    var init = { method: opts.method || 'GET', headers: headers, cache: 'no-store' };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    var key = state.key;
    return fetch(path, init).then(
      function (res) {
        return res.text().then(function (text) {
          var body;
          try {
            body = text ? JSON.parse(text) : null;
          } catch (e) {
            body = null; // not JSON (a proxy's error page): the status says enough
          }
          if (res.status === 401 && key === state.key) onUnauthorized();
          if (!res.ok) throw new ApiError(res.status, body);
          return body;
        });
      },
      function () {
        throw new ApiError(0, { message: 'the server cannot be reached' });
      },
    );
  }

  // ---- key, sign-in, tabs ------------------------------------------------------------------------------

  function showKeyPanel(message) {
    $('key-panel').hidden = false;
    $('board').hidden = true;
    $('project-field').hidden = true;
    $('change-key').hidden = true;
    $('key-error').textContent = message || '';
    $('key-input').value = '';
    $('key-input').focus();
  }

  function onUnauthorized() {
    stopSession();
    store.del(STORE.key);
    showKeyPanel('This key was refused (unknown or revoked). Enter another key.');
  }

  function stopSession() {
    state.gen++;
    if (state.socket) {
      state.socket.offAny();
      state.socket.off();
      state.socket.disconnect();
      state.socket = null;
    }
    state.key = null;
    state.ready = false;
    clearTimeout(state.retryTimer);
    setConn('offline');
  }

  /** Checks the key against the server (401 = refused), then starts the socket and picks a project. */
  function signIn(key, fromForm) {
    stopSession();
    state.key = key;
    var g = state.gen;
    return api('/api/projects').then(
      function (res) {
        if (g !== state.gen) return;
        if (fromForm) {
          store.set(STORE.key, key);
          if (channel) channel.postMessage({ type: 'key' });
        }
        startBoard(res.items);
      },
      function (err) {
        if (g !== state.gen) return;
        if (err.status === 401) return; // onUnauthorized showed the key panel
        if (fromForm && err.status !== 0) {
          $('key-error').textContent = 'The server answered ' + err.status + ': ' + err.message;
          return;
        }
        // the server is away: keep the key and let the socket's reconnection bring the board back
        if (fromForm) {
          store.set(STORE.key, key);
          if (channel) channel.postMessage({ type: 'key' });
        }
        startBoard(null);
      },
    );
  }

  function startBoard(projects) {
    $('key-panel').hidden = true;
    $('board').hidden = false;
    $('project-field').hidden = false;
    $('change-key').hidden = false;
    if (projects) renderProjects(projects);
    connectSocket();
    onRoute();
  }

  // ---- routing: #/p/<project>[/w/<workflow>] -----------------------------------------------------------

  function parseHash() {
    var m = /^#\/p\/([^/]+)(?:\/w\/([^/]+))?$/.exec(window.location.hash);
    if (!m) return { project: null, workflow: null };
    return { project: decodeURIComponent(m[1]), workflow: m[2] ? decodeURIComponent(m[2]) : null };
  }

  function setHash(project, workflow) {
    var h = project ? '#/p/' + enc(project) + (workflow ? '/w/' + enc(workflow) : '') : '';
    if (window.location.hash !== h) history.replaceState(null, '', h || window.location.pathname);
  }

  function onRoute() {
    if (!state.key) return;
    var r = parseHash();
    var project =
      r.project || store.get(STORE.project) || (state.projects[0] && state.projects[0].id) || null;
    if (!project) {
      renderAll();
      return;
    }
    if (project !== state.project) selectProject(project, r.workflow);
    else if (r.workflow !== state.selected) selectWorkflow(r.workflow);
  }

  // ---- project state -----------------------------------------------------------------------------------

  function selectProject(project, workflow) {
    if (state.socket && state.socket.connected && state.project && state.ready)
      state.socket.emit('unsubscribe', { projectId: state.project });
    persistSince();
    state.gen++;
    state.project = project;
    state.ready = false;
    state.accessDenied = false;
    state.workflows = new Map();
    state.fetching = new Map();
    state.nextCursor = null;
    state.selected = workflow || null;
    state.logsFor = null;
    state.logs = new Map();
    state.canWrite = false;
    state.queues = [];
    state.projectQueue = [];
    state.webhooks = [];
    state.lastApplied = 0;
    clearTimeout(state.retryTimer);
    store.set(STORE.project, project);
    setHash(project, state.selected);
    showBanner('');
    $('log-list').textContent = '';
    $('step-list').textContent = '';
    $('workflow-list').textContent = '';
    renderProjectsSelect();
    setConn(state.socket && state.socket.connected ? 'reconnecting' : state.conn);
    loadSnapshot(null);
  }

  /**
   * REST snapshot, then subscribe. `since` is the stored position (or `resetSeq` after a reset ack) but never
   * above the project's lastSeq (a wiped database would otherwise leave us waiting for seqs that never come).
   */
  function loadSnapshot(resetSeq) {
    var g = state.gen;
    var p = state.project;
    if (state.loadingGen === g) return Promise.resolve(); // already loading this one
    state.loadingGen = g;
    state.ready = false;
    clearTimeout(state.retryTimer);
    return api('/api/projects')
      .then(function (res) {
        if (g !== state.gen) return;
        renderProjects(res.items);
        var info = res.items.filter(function (x) {
          return x.id === p;
        })[0];
        var serverSeq = info ? info.lastSeq : 0;
        var stored = store.get(STORE.since(p));
        var since = resetSeq != null ? resetSeq : stored == null ? serverSeq : Number(stored);
        if (!(since >= 0) || since > serverSeq) since = serverSeq;
        state.snapshotSeq = serverSeq;
        state.lastApplied = since;
        return Promise.all([fetchList(g, false), probeWrite(p)]).then(function (r) {
          if (g !== state.gen) return;
          state.canWrite = r[1];
          var sel = state.selected;
          var loads = [];
          if (sel && !state.workflows.has(sel)) loads.push(fetchWorkflow(sel, g, true));
          if (sel)
            loads.push(
              loadLogs(sel, g).catch(function (err) {
                if (err.status !== 404) throw err;
              }),
            );
          return Promise.all(loads);
        });
      })
      .then(function () {
        if (g !== state.gen) return;
        state.ready = true;
        showBanner('');
        persistSince();
        renderAll();
        refreshQueues();
        subscribe();
      })
      .catch(function (err) {
        if (g !== state.gen) return;
        if (err && err.status === 401) return;
        if (err && err.status === 403) {
          state.accessDenied = true;
          state.workflows = new Map();
          state.selected = null;
          showBanner('This key cannot read project "' + p + '". Pick one of its projects.');
          renderAll();
          return;
        }
        showBanner(
          'Could not load project "' + p + '": ' + ((err && err.message) || err) + '. Retrying\u2026',
        );
        state.retryTimer = setTimeout(function () {
          if (g === state.gen) loadSnapshot(resetSeq);
        }, 2000);
      })
      .then(function () {
        if (state.loadingGen === g) state.loadingGen = null;
      });
  }

  function listQuery(cursor) {
    var q = ['limit=' + LIST_LIMIT];
    if (state.filters.status) q.push('status=' + enc(state.filters.status));
    if (state.filters.type) q.push('type=' + enc(state.filters.type));
    if (cursor) q.push('cursor=' + enc(cursor));
    return '/api/projects/' + enc(state.project) + '/workflows?' + q.join('&');
  }

  /** One page of the list (filters applied by the server), merged into what the page knows. */
  function fetchList(g, more) {
    return api(listQuery(more ? state.nextCursor : null)).then(function (res) {
      if (g !== state.gen) return;
      res.items.forEach(mergeWorkflow);
      state.nextCursor = res.nextCursor;
      scheduleRender();
    });
  }

  /** A fetched workflow replaces the known one unless the known one has seen a later event. */
  function mergeWorkflow(wf) {
    if (state.fetching.has(wf.id)) return;
    var known = state.workflows.get(wf.id);
    if (known && known.lastSeq > wf.lastSeq) return;
    wf._etaAt = Date.now();
    state.workflows.set(wf.id, wf);
  }

  /**
   * GET one workflow; events for it that arrive meanwhile wait, and are applied (those above its lastSeq)
   * once it is here.
   */
  function fetchWorkflow(id, g, quiet) {
    if (state.fetching.has(id)) return Promise.resolve();
    state.fetching.set(id, []);
    return api('/api/workflows/' + enc(id)).then(
      function (wf) {
        if (g !== state.gen) return;
        var waiting = state.fetching.get(id) || [];
        state.fetching.delete(id);
        mergeWorkflow(wf);
        var known = state.workflows.get(id);
        waiting.forEach(function (env) {
          applyToWorkflow(known, env);
        });
        scheduleRender();
      },
      function (err) {
        if (g !== state.gen) return;
        state.fetching.delete(id);
        if (err.status === 404) {
          if (state.selected === id) selectWorkflow(null);
          return;
        }
        if (quiet) throw err;
        // the server is away: try again shortly (the events that arrived meanwhile are in what it reads)
        setTimeout(function () {
          if (g === state.gen) fetchWorkflow(id, g, false);
        }, 2000);
      },
    );
  }

  /** Whether the key may write in project p (shows cancel): GET /api/keys/me tells its role and projects. */
  function probeWrite(p) {
    return api('/api/keys/me').then(
      function (me) {
        return me.role !== 'viewer' && (me.projects.indexOf('*') >= 0 || me.projects.indexOf(p) >= 0);
      },
      function () {
        return false;
      },
    );
  }

  // ---- live ----------------------------------------------------------------------------------------------

  function connectSocket() {
    if (typeof window.io !== 'function') {
      showBanner('The Socket.IO client did not load; live updates are off.');
      return;
    }
    var socket = window.io({
      auth: { token: state.key },
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    state.socket = socket;
    setConn('reconnecting');

    socket.on('connect', function () {
      setConn('reconnecting');
      if (!state.project) {
        setConn('live');
        return;
      }
      if (state.ready) subscribe();
      else if (!state.accessDenied) loadSnapshot(null);
      refreshQueues();
    });
    socket.on('disconnect', function (reason) {
      setConn(navigator.onLine === false ? 'offline' : 'reconnecting');
      // the server closed this socket (a slow reader, or a revoked key): come back; a revoked key then
      // gets connect_error "unauthorized"
      if (reason === 'io server disconnect')
        setTimeout(function () {
          if (state.socket === socket && !socket.connected) socket.connect();
        }, 1000);
    });
    socket.on('connect_error', function (err) {
      if (state.socket !== socket) return;
      if (err && err.message === 'unauthorized') {
        onUnauthorized();
        return;
      }
      // a connection attempt failed: the server is unreachable (or refused for now)
      setConn('offline');
      if (!socket.active)
        setTimeout(function () {
          if (state.socket === socket && !socket.connected) socket.connect();
        }, 2000);
    });
    socket.onAny(function (type, env) {
      onEvent(env);
    });
  }

  function subscribe() {
    var socket = state.socket;
    var g = state.gen;
    var p = state.project;
    if (!socket || !socket.connected || !p || !state.ready) return;
    socket.emit('subscribe', { projectId: p, since: state.lastApplied }, function (ack) {
      if (g !== state.gen || socket !== state.socket) return;
      if (!ack || !ack.ok) {
        if (ack && ack.code === 'forbidden') {
          showBanner('This key cannot read project "' + p + '".');
          return;
        }
        setTimeout(function () {
          if (g === state.gen && socket === state.socket) subscribe();
        }, 2000);
        return;
      }
      if (ack.reset) {
        // our position is older than the event log keeps: reload the state, then go on from lastSeq
        socket.emit('unsubscribe', { projectId: p });
        state.resets++;
        state.gen++;
        state.workflows = new Map();
        state.fetching = new Map();
        state.logs = new Map();
        state.logsFor = null;
        $('log-list').textContent = '';
        loadSnapshot(ack.lastSeq);
        return;
      }
      state.lastReplayed = ack.replayed || 0;
      setConn('live');
      renderConnDetails();
    });
  }

  function onEvent(env) {
    if (!env || typeof env.seq !== 'number' || env.projectId !== state.project || !state.ready) return;
    if (env.seq <= state.lastApplied) return; // already applied (a replay overlapping what we had)
    state.lastApplied = env.seq;
    persistSinceSoon();
    applyEvent(env);
    renderConnDetails();
  }

  function applyEvent(env) {
    var id = env.workflowId;
    if (!id) return;
    if (env.type === 'workflow:log') {
      if (id === state.logsFor) addLogs([env.data]);
      return;
    }
    if (state.fetching.has(id)) {
      state.fetching.get(id).push(env);
      return;
    }
    if (env.type === 'workflow:created' && env.data && env.data.parent) addChild(env.data.parent, id);
    var wf = state.workflows.get(id);
    if (!wf) {
      if (env.type === 'workflow:created') {
        state.workflows.set(id, fromCreated(env));
        scheduleRender();
      } else if (env.seq > state.snapshotSeq || id === state.selected) {
        // a workflow we did not list (older than the page, or outside the filter) is moving: show it
        fetchWorkflow(id, state.gen, false);
      }
      return;
    }
    applyToWorkflow(wf, env);
    if (/^workflow:(started|completed|failed|cancelled|requeued|created)$/.test(env.type))
      refreshQueuesSoon();
  }

  /** §14: a child created under a step of a workflow on the page shows under that step at once. */
  function addChild(parent, childId) {
    var p = state.workflows.get(parent.workflowId);
    var step = p && findStep(p, parent.stepId);
    if (!step) return;
    step.children = step.children || [];
    if (step.children.indexOf(childId) < 0) step.children.push(childId);
    scheduleRender();
  }

  function fromCreated(env) {
    var d = env.data || {};
    return {
      id: env.workflowId,
      projectId: env.projectId,
      type: d.type,
      name: d.name,
      status: d.status,
      progress: d.progress,
      queue: d.queue,
      attempt: 1,
      maxAttempts: null,
      error: null,
      eta: d.eta || {
        remainingMs: null,
        finishAt: null,
        basis: 'none',
        remainingP90Ms: null,
        queueWaitMs: null,
      },
      _etaAt: Date.now(),
      createdAt: env.at,
      startedAt: null,
      finishedAt: null,
      updatedAt: env.at,
      lastSeq: env.seq,
      parent: d.parent || null,
      steps: (d.steps || []).map(function (s) {
        return {
          id: s.id,
          name: s.name,
          weight: s.weight,
          status: 'pending',
          progress: 0,
          current: null,
          total: null,
          message: null,
          error: null,
          children: [],
        };
      }),
    };
  }

  function applyToWorkflow(wf, env) {
    if (!wf || env.seq <= wf.lastSeq) return; // already in what REST returned
    wf.lastSeq = env.seq;
    wf.updatedAt = env.at;
    var d = env.data || {};
    if (d.eta) {
      wf.eta = d.eta;
      wf._etaAt = Date.now();
    }
    var t = env.type;
    if (t === 'workflow:step:slow') {
      // §13: not a change of the step's progress, a warning about it
      var slowStep = findStep(wf, env.stepId);
      if (slowStep)
        slowStep.slow = { attempt: env.attempt, elapsedMs: d.elapsedMs, expectedMs: d.expectedMs };
      scheduleRender();
      return;
    }
    if (t.indexOf('workflow:step:') === 0) {
      var step = findStep(wf, env.stepId);
      if (step) {
        step.status = d.status;
        step.progress = d.progress;
        step.current = d.current;
        step.total = d.total;
        step.message = d.message;
        if (d.error !== undefined) step.error = d.error;
        if (d.result !== undefined) step.result = d.result;
        if (t === 'workflow:step:started' && !step.startedAt) step.startedAt = env.at;
        if (/completed|failed|skipped$/.test(t)) step.finishedAt = env.at;
      }
      if (typeof d.workflowProgress === 'number') wf.progress = d.workflowProgress;
    } else if (t === 'workflow:requeued') {
      // steps go back to pending: take the whole workflow from the server
      wf.status = d.status;
      wf.progress = d.progress;
      wf.attempt = d.attempt;
      fetchWorkflow(wf.id, state.gen, false);
    } else if (t !== 'workflow:created') {
      wf.status = d.status;
      if (typeof d.progress === 'number') wf.progress = d.progress;
      if (t === 'workflow:started' && !wf.startedAt) wf.startedAt = env.at;
      if (TERMINAL[d.status]) {
        wf.finishedAt = env.at;
        wf.error = d.error || null;
        // the server ends the pending and running steps with the workflow (no event per step)
        wf.steps.forEach(function (s) {
          if (s.status === 'pending' || s.status === 'running') {
            s.status = 'cancelled';
            s.finishedAt = env.at;
          }
        });
      }
    }
    scheduleRender();
  }

  function findStep(wf, id) {
    for (var i = 0; i < wf.steps.length; i++) if (wf.steps[i].id === id) return wf.steps[i];
    return null;
  }

  var sinceTimer = null;
  function persistSinceSoon() {
    if (sinceTimer) return;
    sinceTimer = setTimeout(function () {
      sinceTimer = null;
      persistSince();
    }, 250);
  }

  function persistSince() {
    if (state.project && state.ready) store.set(STORE.since(state.project), state.lastApplied);
  }

  // ---- selection and logs ------------------------------------------------------------------------------

  function selectWorkflow(id) {
    state.selected = id || null;
    setHash(state.project, state.selected);
    state.logs = new Map();
    state.logsFor = null;
    $('log-list').textContent = '';
    renderAll();
    if (!id || !state.ready) return;
    var g = state.gen;
    if (!state.workflows.has(id)) fetchWorkflow(id, g, false);
    loadLogs(id, g).catch(function () {
      /* shown as an empty list; the next selection or reload tries again */
    });
  }

  /** Every log line so far (pages of 1000); lines arriving live meanwhile land in the same map. */
  function loadLogs(id, g) {
    state.logsFor = id;
    state.logs = new Map();
    var after = 0;
    function page() {
      return api('/api/workflows/' + enc(id) + '/logs?after=' + after + '&limit=' + LOG_PAGE).then(
        function (res) {
          if (g !== state.gen || state.logsFor !== id) return;
          addLogs(res.items);
          if (res.items.length === LOG_PAGE) {
            after = res.items[res.items.length - 1].id;
            return page();
          }
        },
      );
    }
    return page();
  }

  function addLogs(items) {
    var list = $('log-list');
    var lastShown = list.lastElementChild ? Number(list.lastElementChild.dataset.logId) : 0;
    var inOrder = true;
    items.forEach(function (log) {
      if (!log || state.logs.has(log.id)) return;
      state.logs.set(log.id, log);
      if (log.id < lastShown) inOrder = false;
      lastShown = Math.max(lastShown, log.id);
    });
    if (state.logs.size > MAX_LOG_LINES) {
      var ids = Array.from(state.logs.keys()).sort(function (a, b) {
        return a - b;
      });
      ids.slice(0, ids.length - MAX_LOG_LINES).forEach(function (k) {
        state.logs.delete(k);
      });
      inOrder = false;
    }
    renderLogs(!inOrder);
  }

  // ---- queues --------------------------------------------------------------------------------------------

  /** §15: the project's webhooks and their delivery state (any key of the project may list them). */
  function refreshWebhooks(g) {
    api('/api/projects/' + enc(state.project) + '/webhooks').then(
      function (r) {
        if (g !== state.gen) return;
        state.webhooks = r.items;
        renderWebhooks();
      },
      function () {
        /* kept as it was; the next refresh tries again */
      },
    );
  }

  function renderWebhooks() {
    var list = $('webhook-list');
    list.textContent = '';
    var items = state.webhooks;
    var project = state.projects.filter(function (p) {
      return p.id === state.project;
    })[0];
    var headSeq = project && typeof project.lastSeq === 'number' ? project.lastSeq : null;
    items.forEach(function (h) {
      var li = document.createElement('li');
      li.setAttribute('data-testid', 'webhook');
      li.dataset.webhookId = h.id;
      var failing = !!h.failingSince;
      li.dataset.state = failing ? 'failing' : 'ok';
      var head = document.createElement('div');
      head.className = 'queue-name';
      head.textContent = h.url;
      var st = document.createElement('div');
      st.className = failing ? 'error small' : 'muted small';
      st.setAttribute('data-testid', 'webhook-state');
      st.textContent = failing
        ? 'failing since ' +
          new Date(h.failingSince).toLocaleTimeString() +
          (h.lastError ? ': ' + h.lastError : '')
        : 'delivering' +
          (h.lastDeliveredAt ? ', last ' + new Date(h.lastDeliveredAt).toLocaleTimeString() : '');
      var pos = document.createElement('div');
      pos.className = 'muted small';
      pos.textContent =
        'cursor ' +
        h.cursor +
        (headSeq !== null ? ' of ' + headSeq + ' (' + Math.max(0, headSeq - h.cursor) + ' behind)' : '') +
        (h.types && h.types.length
          ? ' \u00b7 ' + h.types.length + ' event types'
          : ' \u00b7 all event types');
      li.appendChild(head);
      li.appendChild(st);
      li.appendChild(pos);
      list.appendChild(li);
    });
    $('webhook-empty').hidden = items.length > 0;
  }

  var queueTimer = null;
  function refreshQueuesSoon() {
    if (queueTimer) return;
    queueTimer = setTimeout(function () {
      queueTimer = null;
      refreshQueues();
    }, 1000);
  }

  function refreshQueues() {
    if (!state.key || !state.project || !state.ready) return;
    var g = state.gen;
    Promise.all([api('/api/queues'), api('/api/projects/' + enc(state.project) + '/queue')]).then(
      function (r) {
        if (g !== state.gen) return;
        state.queues = r[0].items;
        state.projectQueue = r[1].items;
        renderQueues();
        refreshProjects();
        refreshWebhooks(g);
      },
      function () {
        /* kept as it was; the next refresh tries again */
      },
    );
  }

  function refreshProjects() {
    if (!state.key) return;
    api('/api/projects').then(
      function (res) {
        renderProjects(res.items);
      },
      function () {},
    );
  }

  // ---- actions -------------------------------------------------------------------------------------------

  function cancelWorkflow(id) {
    state.cancelling.add(id);
    renderDetail();
    api('/api/workflows/' + enc(id) + '/cancel', {
      method: 'POST',
      body: { reason: 'cancelled from the dashboard' },
    })
      .then(
        function (wf) {
          mergeWorkflow(wf);
        },
        function (err) {
          if (err.status === 403) state.canWrite = false;
          else showBanner('Cancel failed: ' + err.message);
        },
      )
      .then(function () {
        state.cancelling.delete(id);
        renderAll();
      });
  }

  // ---- rendering -----------------------------------------------------------------------------------------

  function setConn(s) {
    if (navigator.onLine === false) s = 'offline';
    state.conn = s;
    var el = $('connection');
    if (el.dataset.state !== s) {
      el.dataset.state = s;
      el.textContent = CONN_TEXT[s];
    }
    renderConnDetails();
  }

  function renderConnDetails() {
    var el = $('connection');
    el.dataset.lastSeq = String(state.lastApplied);
    el.dataset.replayed = String(state.lastReplayed);
    el.dataset.resets = String(state.resets);
    el.title =
      state.conn === 'live'
        ? 'Receiving live events (last event #' + state.lastApplied + ')'
        : state.conn === 'offline'
          ? 'The server cannot be reached; retrying. Last event #' + state.lastApplied
          : 'Connecting; missed events will be replayed';
  }

  function showBanner(text) {
    var b = $('banner');
    b.textContent = text;
    b.hidden = !text;
  }

  var renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(function () {
      renderQueued = false;
      renderAll();
    });
  }

  function renderAll() {
    renderList();
    renderDetail();
    renderQueues();
  }

  function renderProjects(items) {
    state.projects = items;
    renderProjectsSelect();
  }

  function renderProjectsSelect() {
    var sel = $('project-select');
    var items = state.projects.slice();
    var ids = items.map(function (p) {
      return p.id;
    });
    if (state.project && ids.indexOf(state.project) < 0)
      items.push({ id: state.project, counts: null, missing: true });
    var opts = items.map(function (p) {
      var c = p.counts;
      return [p.id, c ? p.id + ' \u2014 ' + c.running + ' running, ' + c.queued + ' queued' : p.id];
    });
    if (!state.project) opts.unshift(['', 'choose a project\u2026']);
    var signature = JSON.stringify(opts);
    if (sel.dataset.signature !== signature) {
      // rebuilt only when something changed, so an open picker is not closed by the periodic refresh
      sel.dataset.signature = signature;
      sel.textContent = '';
      opts.forEach(function (o) {
        sel.appendChild(option(o[0], o[1]));
      });
    }
    sel.value = state.project || '';
  }

  function option(value, label) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    return o;
  }

  function matchesFilters(wf) {
    var f = state.filters;
    if (f.status && f.status.split(',').indexOf(wf.status) < 0) return false;
    if (f.type && wf.type !== f.type) return false;
    return true;
  }

  function visibleWorkflows() {
    return Array.from(state.workflows.values())
      .filter(matchesFilters)
      .sort(function (a, b) {
        return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1;
      });
  }

  function renderList() {
    var list = $('workflow-list');
    var wfs = state.accessDenied ? [] : visibleWorkflows();
    var existing = new Map();
    Array.prototype.forEach.call(list.children, function (li) {
      existing.set(li.dataset.workflowId, li);
    });
    wfs.forEach(function (wf, i) {
      var li = existing.get(wf.id);
      if (li) existing.delete(wf.id);
      else li = createListItem(wf.id);
      updateListItem(li, wf);
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    existing.forEach(function (li) {
      li.remove();
    });
    $('workflow-empty').hidden = wfs.length > 0;
    $('workflow-empty').textContent = state.ready ? 'No workflows match.' : 'Loading\u2026';
    $('load-more').hidden = !state.nextCursor || state.accessDenied;
    var types = new Set();
    state.workflows.forEach(function (wf) {
      if (wf.type) types.add(wf.type);
    });
    var dl = $('known-types');
    if (dl.children.length !== types.size) {
      dl.textContent = '';
      types.forEach(function (t) {
        dl.appendChild(option(t, t));
      });
    }
  }

  function createListItem(id) {
    var li = document.createElement('li');
    li.dataset.workflowId = id;
    li.setAttribute('data-testid', 'workflow-item');
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'workflow-item';
    b.innerHTML =
      '<div class="wf-row"><span class="wf-name"></span><span class="badge"></span></div>' +
      '<div class="muted small wf-sub"></div>' +
      '<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div class="fill"></div></div>';
    b.addEventListener('click', function () {
      selectWorkflow(id);
    });
    li.appendChild(b);
    return li;
  }

  function updateListItem(li, wf) {
    var b = li.firstChild;
    var label = wf.name || wf.id;
    b.setAttribute('aria-current', wf.id === state.selected ? 'true' : 'false');
    setText(b.querySelector('.wf-name'), label);
    var badge = b.querySelector('.badge');
    setText(badge, wf.status);
    badge.dataset.status = wf.status;
    setText(
      b.querySelector('.wf-sub'),
      wf.type + ' \u00b7 ' + wf.progress + ' % \u00b7 ' + etaText(wf, true),
    );
    var bar = b.querySelector('.bar');
    setBar(bar, wf.progress, 0, 100, wf.progress + ' %', wf.status);
    bar.setAttribute('aria-label', 'Progress of ' + label);
  }

  function renderDetail() {
    var wf = state.selected && !state.accessDenied ? state.workflows.get(state.selected) : null;
    $('detail-empty').hidden = !!wf;
    $('detail-body').hidden = !wf;
    $('detail-empty').textContent =
      state.selected && !state.accessDenied
        ? 'Loading workflow ' + state.selected + '\u2026'
        : 'Pick a workflow on the left to see its steps and logs.';
    if (!wf) return;
    setText($('detail-name'), wf.name || wf.id);
    setText(
      $('detail-meta'),
      'id ' + wf.id + ' \u00b7 type ' + wf.type + (wf.queue ? ' \u00b7 queue ' + wf.queue : ''),
    );
    var parentLink = $('detail-parent');
    parentLink.hidden = !wf.parent;
    if (wf.parent) {
      parentLink.setAttribute('href', '#/p/' + enc(state.project) + '/w/' + enc(wf.parent.workflowId));
      setText(parentLink, 'Part of ' + wf.parent.workflowId + ' (step ' + wf.parent.stepId + ')');
    }
    var st = $('detail-status');
    setText(st, wf.status);
    st.dataset.status = wf.status;
    setBar($('detail-progress'), wf.progress, 0, 100, wf.progress + ' %', wf.status);
    $('detail-progress').dataset.status = wf.status;
    setText($('detail-eta'), etaText(wf, false));
    setText(
      $('detail-attempt'),
      wf.maxAttempts ? wf.attempt + ' of ' + wf.maxAttempts : String(wf.attempt || 1),
    );
    setText($('detail-updated'), wf.updatedAt ? new Date(wf.updatedAt).toLocaleTimeString() : '—');
    var err = $('detail-error');
    err.hidden = !wf.error;
    setText(
      err,
      wf.error ? 'Error' + (wf.error.code ? ' (' + wf.error.code + ')' : '') + ': ' + wf.error.message : '',
    );
    var cancel = $('cancel-button');
    cancel.hidden = !state.canWrite || !!TERMINAL[wf.status];
    cancel.disabled = state.cancelling.has(wf.id);
    cancel.textContent = state.cancelling.has(wf.id) ? 'Cancelling\u2026' : 'Cancel workflow';
    renderSteps(wf);
    $('log-empty').hidden = state.logs.size > 0;
  }

  function renderSteps(wf) {
    var list = $('step-list');
    if (list.dataset.workflowId !== wf.id) {
      list.textContent = '';
      list.dataset.workflowId = wf.id;
    }
    wf.steps.forEach(function (s, i) {
      var li = list.children[i];
      if (!li || li.dataset.stepId !== s.id) {
        li = createStepItem(s.id);
        list.insertBefore(li, list.children[i] || null);
      }
      updateStepItem(li, s);
    });
    while (list.children.length > wf.steps.length) list.lastElementChild.remove();
  }

  function createStepItem(id) {
    var li = document.createElement('li');
    li.className = 'step';
    li.dataset.stepId = id;
    li.setAttribute('data-testid', 'step');
    li.innerHTML =
      '<div class="step-head"><span class="step-name"></span>' +
      '<span class="step-count" data-testid="step-count"></span>' +
      '<span class="badge" data-testid="step-status"></span></div>' +
      '<div class="bar" role="progressbar" data-testid="step-bar"><div class="fill"></div></div>' +
      '<div class="step-message" data-testid="step-message"></div>' +
      '<div class="step-error error" data-testid="step-error" hidden></div>' +
      '<ul class="plain step-children" data-testid="step-children" hidden></ul>';
    return li;
  }

  function updateStepItem(li, s) {
    var name = s.name || s.id;
    setText(li.querySelector('.step-name'), name);
    var counted = typeof s.current === 'number' && typeof s.total === 'number';
    var count = counted ? s.current + ' / ' + s.total : s.progress + ' %';
    setText(li.querySelector('.step-count'), count);
    var badge = li.querySelector('.badge');
    var slow = s.status === 'running' && s.slow;
    setText(badge, slow ? 'running \u00b7 slow (usually ' + fmtDuration(s.slow.expectedMs) + ')' : s.status);
    badge.dataset.status = s.status;
    badge.dataset.slow = slow ? '1' : '';
    var bar = li.querySelector('.bar');
    bar.setAttribute('aria-label', 'Step ' + name);
    var valueText = counted ? s.current + ' of ' + s.total + ' (' + s.progress + ' %)' : s.progress + ' %';
    if (counted) setBar(bar, s.current, 0, s.total, valueText, s.status, s.progress);
    else setBar(bar, s.progress, 0, 100, valueText, s.status);
    setText(li.querySelector('.step-message'), s.message || '');
    var e = li.querySelector('.step-error');
    e.hidden = !s.error;
    setText(
      e,
      s.error ? 'Error' + (s.error.code ? ' (' + s.error.code + ')' : '') + ': ' + s.error.message : '',
    );
    renderChildren(li.querySelector('.step-children'), s.children || []);
  }

  /** §14: a step's child workflows, each a link that opens it (progress and status when it is on the page). */
  function renderChildren(ul, ids) {
    ul.hidden = ids.length === 0;
    while (ul.children.length > ids.length) ul.lastElementChild.remove();
    ids.forEach(function (id, i) {
      var li = ul.children[i];
      if (!li) {
        li = document.createElement('li');
        var a = document.createElement('a');
        a.setAttribute('data-testid', 'child-link');
        li.appendChild(a);
        ul.appendChild(li);
      }
      var a = li.firstChild;
      var child = state.workflows.get(id);
      var href = '#/p/' + enc(state.project) + '/w/' + enc(id);
      if (a.getAttribute('href') !== href) a.setAttribute('href', href);
      a.dataset.childId = id;
      setText(
        a,
        'Child ' +
          ((child && child.name) || id) +
          (child ? ' — ' + child.status + ', ' + child.progress + ' %' : ''),
      );
    });
  }

  /** A progress bar: ARIA value in its own unit (items or %), width from the percentage. */
  function setBar(bar, now, min, max, valueText, status, percent) {
    bar.setAttribute('aria-valuemin', String(min));
    bar.setAttribute('aria-valuemax', String(max));
    bar.setAttribute('aria-valuenow', String(now));
    bar.setAttribute('aria-valuetext', valueText);
    bar.dataset.status = status;
    var pct = typeof percent === 'number' ? percent : max > min ? (100 * (now - min)) / (max - min) : 0;
    var fill = bar.querySelector('.fill');
    var w = Math.max(0, Math.min(100, pct)) + '%';
    if (fill.style.width !== w) fill.style.width = w;
    var text = bar.querySelector('.bar-text');
    if (text) setText(text, valueText);
  }

  function renderLogs(full) {
    var list = $('log-list');
    var stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    var ids = Array.from(state.logs.keys()).sort(function (a, b) {
      return a - b;
    });
    if (full) list.textContent = '';
    var last = list.lastElementChild ? Number(list.lastElementChild.dataset.logId) : 0;
    ids.forEach(function (id) {
      if (id > last) list.appendChild(logItem(state.logs.get(id)));
    });
    $('log-empty').hidden = ids.length > 0;
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function logItem(log) {
    var li = document.createElement('li');
    li.dataset.logId = String(log.id);
    li.setAttribute('data-testid', 'log-line');
    var time = document.createElement('span');
    time.className = 'log-time';
    time.textContent = new Date(log.at).toLocaleTimeString();
    var level = document.createElement('span');
    level.className = 'log-level';
    level.dataset.level = log.level;
    level.textContent = log.level;
    var msg = document.createElement('span');
    msg.className = 'log-message';
    msg.textContent = (log.stepId ? '[' + log.stepId + '] ' : '') + log.message;
    li.appendChild(time);
    li.appendChild(level);
    li.appendChild(msg);
    return li;
  }

  function renderQueues() {
    var list = $('queue-list');
    list.textContent = '';
    var workers = [];
    state.queues.forEach(function (q) {
      var li = document.createElement('li');
      li.dataset.queue = q.name;
      li.setAttribute('data-testid', 'queue');
      var name = document.createElement('div');
      name.className = 'queue-name';
      name.textContent = q.name;
      var counts = document.createElement('div');
      counts.className = 'queue-counts';
      counts.textContent =
        q.queued +
        ' queued \u00b7 ' +
        q.running +
        ' running \u00b7 oldest waiting ' +
        (q.oldestQueuedAgeMs == null ? '\u2014' : fmtDuration(q.oldestQueuedAgeMs));
      var minute = document.createElement('div');
      minute.className = 'muted small';
      minute.textContent =
        'last minute: ' + q.completedLastMinute + ' completed, ' + q.failedLastMinute + ' failed';
      li.appendChild(name);
      li.appendChild(counts);
      li.appendChild(minute);
      list.appendChild(li);
      (q.workers || []).forEach(function (w) {
        workers.push({ queue: q.name, w: w });
      });
    });
    $('queue-empty').hidden = state.queues.length > 0;
    var wl = $('worker-list');
    wl.textContent = '';
    workers.forEach(function (x) {
      var li = document.createElement('li');
      li.textContent =
        x.w.workerId +
        ' on ' +
        x.queue +
        ' \u2014 ' +
        x.w.running +
        ' running, seen ' +
        fmtDuration(Date.now() - Date.parse(x.w.lastSeenAt)) +
        ' ago';
      wl.appendChild(li);
    });
    $('worker-empty').hidden = workers.length > 0;
    var pq = $('project-queue');
    pq.textContent = '';
    state.projectQueue.forEach(function (w) {
      var li = document.createElement('li');
      li.textContent =
        (w.position ? '#' + w.position + ' ' : 'claimed ') +
        (w.name || w.id) +
        ' on ' +
        w.queue +
        ' (' +
        w.status +
        ')';
      pq.appendChild(li);
    });
    $('project-queue-empty').hidden = state.projectQueue.length > 0;
  }

  function etaText(wf, short) {
    if (TERMINAL[wf.status]) return wf.status;
    var eta = wf.eta || {};
    var since = Date.now() - (wf._etaAt || Date.now());
    // §13: a queued workflow on a queue waits for a worker first
    var wait = eta.queueWaitMs != null ? Math.max(0, eta.queueWaitMs - since) : null;
    var waitText = wait != null ? 'waits ~' + fmtDuration(wait) + ' for a worker' : '';
    if (eta.remainingMs == null) {
      if (waitText) return waitText;
      return short ? 'ETA unknown' : 'unknown (no history or rate yet)';
    }
    var left = Math.max(0, eta.remainingMs - since);
    // §13: the range, from the estimate to what 9 runs in 10 stayed within ("2–5 min left")
    var high = eta.remainingP90Ms != null ? Math.max(left, eta.remainingP90Ms - since) : null;
    var span =
      high != null && fmtDuration(high) !== fmtDuration(left)
        ? fmtDuration(left) + '\u2013' + fmtDuration(high)
        : '~' + fmtDuration(left);
    if (short) return (waitText ? waitText + ', then ' : '') + span + ' left';
    var at = new Date(Date.now() + (high != null ? high : left)).toLocaleTimeString();
    return (
      (waitText ? waitText + ', then ' : '') +
      span +
      ' left (' +
      (high != null ? 'by ' : 'around ') +
      at +
      ', from ' +
      eta.basis +
      ')'
    );
  }

  function fmtDuration(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    var h = Math.floor(m / 60);
    return h + ' h ' + (m % 60) + ' min';
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  // ---- wiring ----------------------------------------------------------------------------------------------

  function init() {
    $('key-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var key = $('key-input').value.trim();
      if (!key) {
        $('key-error').textContent = 'Enter a key.';
        return;
      }
      $('key-error').textContent = '';
      signIn(key, true);
    });
    $('change-key').addEventListener('click', function () {
      stopSession();
      store.del(STORE.key);
      if (channel) channel.postMessage({ type: 'forget' });
      showKeyPanel('');
    });
    $('project-select').addEventListener('change', function (e) {
      if (e.target.value) {
        window.location.hash = '#/p/' + enc(e.target.value);
      }
    });
    $('filter-status').addEventListener('change', function (e) {
      state.filters.status = e.target.value;
      onFiltersChanged();
    });
    var typeTimer = null;
    $('filter-type').addEventListener('input', function (e) {
      clearTimeout(typeTimer);
      typeTimer = setTimeout(function () {
        state.filters.type = e.target.value.trim();
        onFiltersChanged();
      }, 300);
    });
    $('load-more').addEventListener('click', function () {
      if (state.ready && state.nextCursor) fetchList(state.gen, true);
    });
    $('cancel-button').addEventListener('click', function () {
      if (state.selected) cancelWorkflow(state.selected);
    });
    window.addEventListener('hashchange', onRoute);
    window.addEventListener('pagehide', persistSince);
    window.addEventListener('offline', function () {
      setConn('offline');
    });
    window.addEventListener('online', function () {
      var s = state.socket;
      if (!s) return;
      if (s.connected) setConn('live');
      else {
        // try now rather than at the end of the current backoff
        setConn('reconnecting');
        s.disconnect();
        s.connect();
      }
    });
    if (channel)
      channel.onmessage = function (e) {
        var msg = e.data || {};
        if (msg.type === 'key') {
          var key = store.get(STORE.key);
          if (key && key !== state.key) signIn(key, false);
        } else if (msg.type === 'forget') {
          stopSession();
          showKeyPanel('The key was removed in another tab.');
        }
      };
    // ETA countdown and ages between events; queue panel and project counts every 5 s
    setInterval(function () {
      if (!state.ready || document.hidden) return;
      var wf = state.selected && state.workflows.get(state.selected);
      if (wf) setText($('detail-eta'), etaText(wf, false));
    }, 1000);
    setInterval(function () {
      if (!state.ready || document.hidden) return;
      refreshQueues();
    }, 5000);

    var key = store.get(STORE.key);
    if (key) signIn(key, false);
    else showKeyPanel('');
  }

  function onFiltersChanged() {
    if (!state.ready) {
      renderList();
      return;
    }
    state.nextCursor = null;
    renderList();
    fetchList(state.gen, false).catch(function () {
      /* the list keeps what it has */
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
