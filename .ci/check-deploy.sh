#!/usr/bin/env bash
# Static checks of deploy/: what cannot run here (no Docker engine, no Kubernetes) is at least parsed and
# cross-checked against the app's configuration. Exit 0 only when every check passes; prints the failed
# checks and a one-line summary. Usage: .ci/check-deploy.sh [-v]   (-v: list the passed checks too)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VERBOSE=0
[[ "${1:-}" == "-v" ]] && VERBOSE=1
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); [[ $VERBOSE == 1 ]] && printf '  ok    %s\n' "$*"; return 0; }
bad() { FAIL=$((FAIL + 1)); printf '  FAIL  %s\n' "$*"; }

for f in deploy/local/run.sh .ci/check-deploy.sh; do
    if [[ ! -f "$f" ]]; then bad "$f missing"; continue; fi
    if bash -n "$f" 2>/tmp/check-deploy.$$; then ok "bash -n $f"; else bad "bash -n $f: $(cat /tmp/check-deploy.$$)"; fi
    [[ -x "$f" ]] && ok "$f is executable" || bad "$f is not executable (chmod +x)"
done
f=deploy/docker/entrypoint.sh
if [[ -f "$f" ]]; then
    # POSIX sh: the runtime image's /bin/sh is dash.
    shell=sh; command -v dash >/dev/null 2>&1 && shell=dash
    if $shell -n "$f" 2>/tmp/check-deploy.$$; then ok "$shell -n $f"; else bad "$shell -n $f: $(cat /tmp/check-deploy.$$)"; fi
    [[ -x "$f" ]] && ok "$f is executable" || bad "$f is not executable (chmod +x)"
else
    bad "$f missing"
fi
rm -f /tmp/check-deploy.$$
if command -v shellcheck >/dev/null 2>&1; then
    if shellcheck -S warning deploy/local/run.sh deploy/docker/entrypoint.sh .ci/check-deploy.sh; then ok "shellcheck"; else bad "shellcheck"; fi
fi
# The script's argument handling runs without starting anything.
if out="$(deploy/local/run.sh --help 2>&1)" && grep -q -- '--silos' <<<"$out"; then ok "deploy/local/run.sh --help"; else bad "deploy/local/run.sh --help"; fi
if deploy/local/run.sh --silos 0 >/dev/null 2>&1; then bad "deploy/local/run.sh --silos 0 should be rejected"; else ok "deploy/local/run.sh rejects --silos 0"; fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import yaml' 2>/dev/null; then
    bad "python3 with PyYAML is needed to parse the YAML (pip install pyyaml / apt-get install python3-yaml)"
else
    out="$(python3 - <<'PY'
import glob, json, os, re, sys
import yaml

results = []
def ok(msg): results.append(("ok", msg))
def bad(msg): results.append(("FAIL", msg))
def check(cond, msg):
    (ok if cond else bad)(msg)
    return cond

# ---- the worker's settings: the key table in README.md (the worker binds its sections strictly, and a
#      test keeps that table equal to what the binders know); every env setting must be one of them
readme = open("README.md").read()
table = {}
for key, default in re.findall(r"^\| `([A-Za-z]+:[A-Za-z:*]+)` \| ([^|]*) \|", readme, re.M):
    m = re.search(r"`([^`]*)`", default)
    table[key] = m.group(1) if m else None
check(len(table) >= 20, f"README.md has the settings table ({len(table)} keys)")
known = {k.lower() for k in table}
def env_key_known(name):
    return name.replace("__", ":").lower() in known or name.startswith(("DOTNET_", "ASPNETCORE_", "Logging__"))
defaults = {
    "silo": int(table.get("Orleans:SiloPort") or 0),
    "gateway": int(table.get("Orleans:GatewayPort") or 0),
}
shutdown = table.get("Jobs:ShutdownTimeout") or "0s"
def seconds(text):
    """A duration as the worker reads it: 500ms, 5s, 2m, 1h, 7d or [d.]hh:mm:ss."""
    text = str(text).strip()
    if ":" in text:
        days, _, clock = text.rpartition(".") if text.count(".") and text.index(".") < text.index(":") else ("0", "", text)
        h, m, sec = clock.split(":")
        return int(days or 0) * 86400 + int(h) * 3600 + int(m) * 60 + float(sec)
    unit = re.match(r"^([0-9.]+)(ms|s|m|min|h|d)$", text)
    if not unit:
        raise ValueError(f"not a duration: {text}")
    return float(unit.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}[unit.group(2)]
HEALTH_DEFAULT_IMAGE = 8080
check(table.get("Health:Port") == str(HEALTH_DEFAULT_IMAGE), f"README: Health:Port defaults to {HEALTH_DEFAULT_IMAGE}")

# ---- samples/Worker: the worker the image builds by default; its appsettings.json names only known keys
def json_with_comments(path):
    text = open(path).read()
    out, i, in_str = [], 0, False
    while i < len(text):
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1]); i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True; out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return json.loads("".join(out))
def leaves(node, prefix=""):
    for k, v in node.items():
        path = f"{prefix}:{k}" if prefix else k
        if isinstance(v, dict):
            yield from leaves(v, path)
        else:
            yield path, v
sample_settings = "samples/Worker/appsettings.json"
if check(os.path.isfile(sample_settings), f"{sample_settings} exists"):
    try:
        sample = json_with_comments(sample_settings)
        ok(f"{sample_settings} parses")
        for key, value in leaves(sample):
            if key.startswith("Logging:"):
                continue
            check(key.lower() in known, f"{sample_settings}: {key} is a setting the worker reads")
            if key.startswith("Jobs:") and any(w in key for w in ("Timeout", "Interval", "Retention", "Tolerance")):
                try:
                    seconds(value); ok(f"{sample_settings}: {key} is a duration with its unit")
                except ValueError:
                    bad(f"{sample_settings}: {key} is not a duration with its unit ({value})")
        check("ConnectionStrings" not in sample, f"{sample_settings} holds no connection string (secrets come from the environment)")
    except ValueError as e:
        bad(f"{sample_settings} does not parse: {e}")

# ---- Dockerfile
dockerfile = "deploy/docker/Dockerfile"
if check(os.path.isfile(dockerfile), f"{dockerfile} exists"):
    lines, cur = [], ""
    for raw in open(dockerfile):
        line = raw.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        lines.append((cur + line).strip())
        cur = ""
    instr = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
    froms = [a for i, a in instr if i == "FROM"]
    tfm = re.search(r"<TargetFramework>net(\d+\.\d+)</TargetFramework>", open("Directory.Build.props").read()).group(1)
    check(len(froms) >= 2, "Dockerfile is multi-stage")
    check(froms and froms[0].split()[0] == f"mcr.microsoft.com/dotnet/sdk:{tfm}", f"build stage FROM mcr.microsoft.com/dotnet/sdk:{tfm} (TargetFramework net{tfm})")
    final_image = froms[-1].split()[0] if froms else ""
    check(final_image == f"mcr.microsoft.com/dotnet/aspnet:{tfm}",
          f"final stage FROM the ASP.NET Core {tfm} runtime image, which the worker needs ({final_image})")
    # every COPY source (not --from another stage) exists in the build context and is not .dockerignore'd
    ignore = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")] if os.path.isfile(".dockerignore") else []
    def ignored(path):
        parts = path.rstrip("/").split("/")
        for pat in ignore:
            p = pat.rstrip("/")
            if p.startswith("**/"):
                if p[3:] in parts:
                    return True
            elif path.rstrip("/") == p or path.startswith(p + "/"):
                return True
        return False
    copies = 0
    for i, a in instr:
        if i not in ("COPY", "ADD"):
            continue
        args = [x for x in a.split() if not x.startswith("--")]
        if any(x.startswith("--from") for x in a.split()):
            continue
        for src in args[:-1]:
            copies += 1
            matches = glob.glob(src)
            check(bool(matches), f"COPY source {src} exists")
            check(not any(ignored(m) for m in matches), f"COPY source {src} is not excluded by .dockerignore")
    check(copies > 0, "Dockerfile copies sources")
    # the default PROJECT is samples/Worker, and every project it or Job.Silo needs gets its project file
    # copied before restore and its sources copied before publish
    def refs(proj):
        d = os.path.dirname(proj)
        out = [proj]
        for r in re.findall(r'ProjectReference Include="([^"]+)"', open(proj).read()):
            out += refs(os.path.normpath(os.path.join(d, r.replace("\\", "/"))))
        return out
    text = open(dockerfile).read()
    arg = re.search(r"^ARG PROJECT=(\S+)", text, re.M)
    default_project = arg.group(1) if arg else ""
    check(default_project == "samples/Worker/Worker.csproj", f"Dockerfile builds samples/Worker by default (ARG PROJECT={default_project})")
    sources = [a.split()[0] for i, a in instr if i == "COPY" and "--from" not in a]
    for proj in sorted(set(refs("samples/Worker/Worker.csproj") + refs("src/Job.Silo/Job.Silo.csproj"))):
        check(proj in text, f"Dockerfile copies {proj} for the restore layer")
        check(any(proj.startswith(src.rstrip("/") + "/") for src in sources if src.endswith("/")), f"Dockerfile copies the sources of {proj}")
    expose = {p.split("/")[0] for i, a in instr if i == "EXPOSE" for p in a.split()}
    check({str(defaults["silo"]), str(defaults["gateway"]), str(HEALTH_DEFAULT_IMAGE)} <= expose, f"EXPOSE {defaults['silo']} {defaults['gateway']} {HEALTH_DEFAULT_IMAGE} ({' '.join(sorted(expose))})")
    env_text = " ".join(a for i, a in instr if i == "ENV")
    check(f"Health__Port={HEALTH_DEFAULT_IMAGE}" in env_text, f"ENV Health__Port={HEALTH_DEFAULT_IMAGE}")
    for name in re.findall(r"(\w+__\w+)=", env_text):
        check(env_key_known(name), f"Dockerfile ENV {name} is a setting the app reads")
    users = [a.strip() for i, a in instr if i == "USER"]
    check(bool(users) and users[-1] not in ("root", "0", "0:0"), f"final USER is not root ({users[-1] if users else 'none'})")
    hc = [a for i, a in instr if i == "HEALTHCHECK"]
    check(bool(hc) and "/healthz" in hc[-1], "HEALTHCHECK asks /healthz")
    ep = [a for i, a in instr if i == "ENTRYPOINT"]
    check(bool(ep), "ENTRYPOINT set")
    check(not [a for i, a in instr if i == "CMD"], "no CMD: samples/Worker takes settings only, Job.Silo's verb defaults to run")
    check("/app/*.runtimeconfig.json" in open("deploy/docker/entrypoint.sh").read(), "entrypoint runs the one program published into /app")

# ---- compose
compose_file = "deploy/docker/compose.yaml"
try:
    compose = yaml.safe_load(open(compose_file))
    ok(f"{compose_file} parses")
except Exception as e:
    compose = None
    bad(f"{compose_file} does not parse: {e}")
if compose:
    services = compose.get("services") or {}
    pg = services.get("postgres") or {}
    check(str(pg.get("image", "")).startswith("postgres:15"), "compose: postgres service uses postgres:15")
    check("pg_isready" in json.dumps(pg.get("healthcheck", {})), "compose: postgres healthcheck uses pg_isready")
    silos = {n: s for n, s in services.items() if n.startswith("worker")}
    check(len(silos) == 3, f"compose: three worker services ({', '.join(sorted(silos))})")
    cluster_ids = set()
    for name, svc in sorted(services.items()):
        if name == "postgres":
            continue
        build = svc.get("build") or {}
        if build:
            ctx = os.path.normpath(os.path.join(os.path.dirname(compose_file), build.get("context", ".")))
            check(os.path.isfile(os.path.join(ctx, build.get("dockerfile", "Dockerfile"))), f"compose: {name} build context/dockerfile exist")
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        for k in env:
            check(env_key_known(k), f"compose: {name} env {k} is a setting the app reads")
        args = (build or {}).get("args") or {}
        if build:
            check("samples/Worker/Worker.csproj" in str(args.get("PROJECT", "")), f"compose: {name} builds samples/Worker unless JOB_PROJECT names another project")
        if "Jobs__ShutdownTimeout" in env:
            try:
                seconds(env["Jobs__ShutdownTimeout"]); ok(f"compose: {name} Jobs__ShutdownTimeout has its unit")
            except ValueError:
                bad(f"compose: {name} Jobs__ShutdownTimeout is not a duration with its unit")
        cs = env.get("ConnectionStrings__Jobs", "")
        check("Host=postgres" in cs, f"compose: {name} connects to the postgres service")
        deps = svc.get("depends_on") or {}
        check(bool(deps), f"compose: {name} waits for its dependencies")
        if name in silos:
            cluster_ids.add(env.get("Orleans__ClusterId"))
            port = int(env.get("Health__Port", HEALTH_DEFAULT_IMAGE))
            published = [str(p) for p in svc.get("ports", [])]
            check(any(p.endswith(f":{port}") for p in published), f"compose: {name} publishes its health port {port}")
    check(len(cluster_ids) == 1 and None not in cluster_ids, f"compose: silos share one ClusterId ({cluster_ids})")
    if "migrate" in services:
        check(services["migrate"].get("command") == ["migrate"], "compose: migrate service runs the migrate verb")
        for name in silos:
            cond = ((services[name].get("depends_on") or {}).get("migrate") or {}).get("condition")
            check(cond == "service_completed_successfully", f"compose: {name} starts after migrate succeeded")

# ---- Kubernetes
docs = []
for path in sorted(glob.glob("deploy/k8s/*.yaml")):
    try:
        loaded = [d for d in yaml.safe_load_all(open(path)) if d is not None]
        ok(f"{path} parses ({len(loaded)} document(s))")
        docs += [(path, d) for d in loaded]
    except Exception as e:
        bad(f"{path} does not parse: {e}")
check(bool(docs), "deploy/k8s has manifests")
by_kind = {}
for path, d in docs:
    kind = d.get("kind")
    name = (d.get("metadata") or {}).get("name")
    if kind == "Kustomization":
        check(d.get("apiVersion", "").startswith("kustomize.config.k8s.io/"), f"{path}: Kustomization apiVersion")
        for r in d.get("resources", []):
            check(os.path.isfile(os.path.join("deploy/k8s", r)), f"{path}: resource {r} exists")
        continue
    check(bool(d.get("apiVersion")) and bool(kind) and bool(name), f"{path}: {kind}/{name} has apiVersion, kind, metadata.name")
    by_kind.setdefault(kind, []).append(d)
secrets = {s["metadata"]["name"]: set((s.get("stringData") or {}) | (s.get("data") or {})) for s in by_kind.get("Secret", [])}
for dep in by_kind.get("Deployment", []):
    dn = dep["metadata"]["name"]
    spec = dep.get("spec", {})
    tmpl = spec.get("template", {})
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    check(bool(sel) and all(labels.get(k) == v for k, v in sel.items()), f"Deployment {dn}: selector matches the pod labels")
    check(spec.get("replicas") == 3, f"Deployment {dn}: 3 replicas")
    pod = tmpl.get("spec", {})
    psc = pod.get("securityContext") or {}
    containers = pod.get("containers") or []
    check(len(containers) >= 1, f"Deployment {dn}: has a container")
    for c in containers:
        cn = f"Deployment {dn} container {c.get('name')}"
        env = {e["name"]: e for e in c.get("env", [])}
        for k in env:
            check(env_key_known(k) or k == "POD_IP", f"{cn}: env {k} is a setting the app reads")
        def val(k, default):
            return (env.get(k) or {}).get("value", default)
        silo_port = int(val("Orleans__SiloPort", defaults["silo"]))
        gw_port = int(val("Orleans__GatewayPort", defaults["gateway"]))
        health = int(val("Health__Port", HEALTH_DEFAULT_IMAGE))
        ports = {p.get("containerPort"): p.get("name") for p in c.get("ports", [])}
        names = {v: k for k, v in ports.items()}
        check(silo_port in ports, f"{cn}: containerPort {silo_port} (Orleans:SiloPort)")
        check(gw_port in ports, f"{cn}: containerPort {gw_port} (Orleans:GatewayPort)")
        check(health in ports, f"{cn}: containerPort {health} (Health:Port)")
        check(health != 0, f"{cn}: Health:Port is on")
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = ((c.get(probe) or {}).get("httpGet")) or {}
            p = get.get("port")
            p = names.get(p, p) if isinstance(p, str) else p
            check(get.get("path") == path and p == health, f"{cn}: {probe} GET {path} on the health port {health}")
        sp = (c.get("startupProbe") or {}).get("httpGet")
        if sp:
            p = sp.get("port"); p = names.get(p, p) if isinstance(p, str) else p
            check(p == health and sp.get("path") in ("/healthz", "/readyz"), f"{cn}: startupProbe on the health port")
        ref = ((env.get("ConnectionStrings__Jobs") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        check(bool(ref), f"{cn}: ConnectionStrings__Jobs from a secretKeyRef")
        check(ref.get("key") in secrets.get(ref.get("name"), set()), f"{cn}: Secret {ref.get('name')} has key {ref.get('key')}")
        ip = env.get("Orleans__AdvertisedIP") or {}
        ip_src = ((ip.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        pod_ip = ((env.get("POD_IP") or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        check(ip_src == "status.podIP" or (pod_ip == "status.podIP" and ip.get("value") == "$(POD_IP)"),
              f"{cn}: Orleans__AdvertisedIP is the pod IP (status.podIP)")
        res = c.get("resources") or {}
        check(bool(res.get("requests")) and bool(res.get("limits")), f"{cn}: resource requests and limits")
        csc = c.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, f"{cn}: runAsNonRoot")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        need = seconds(val("Jobs__ShutdownTimeout", shutdown)) + 10
        check(grace > need, f"Deployment {dn}: terminationGracePeriodSeconds {grace} > host shutdown timeout {need:g} s")
    for svc in by_kind.get("Service", []):
        sn = svc["metadata"]["name"]
        ssel = svc["spec"].get("selector") or {}
        if not all(labels.get(k) == v for k, v in ssel.items()):
            continue
        all_ports = {p.get("containerPort") for c in containers for p in c.get("ports", [])}
        all_names = {p.get("name") for c in containers for p in c.get("ports", [])}
        for p in svc["spec"].get("ports", []):
            tp = p.get("targetPort", p.get("port"))
            check(tp in all_ports or tp in all_names, f"Service {sn}: port {p.get('port')} targets a container port ({tp})")
services_k8s = by_kind.get("Service", [])
check(any(s["spec"].get("type", "ClusterIP") == "ClusterIP" and s["spec"].get("clusterIP") != "None"
          and any(p.get("port") == defaults["gateway"] for p in s["spec"].get("ports", [])) for s in services_k8s),
      f"a ClusterIP Service exposes the gateway port {defaults['gateway']}")

# ---- Grafana: the dashboard imports (JSON, unique panel ids, a 24-column grid, every query on the
#      dashboard's Prometheus variable). That it queries only exported names is a test's job
#      (WorkerSampleTests reads a worker's /metrics).
try:
    dash = json.load(open("deploy/grafana/job-dashboard.json"))
    ok("deploy/grafana/job-dashboard.json is JSON")
except (OSError, ValueError) as e:
    bad(f"deploy/grafana/job-dashboard.json: {e}")
    dash = None
if dash is not None:
    panels = dash.get("panels", [])
    check(bool(dash.get("uid")) and bool(dash.get("title")), "dashboard: uid and title")
    check(len(panels) >= 10, f"dashboard: panels ({len(panels)})")
    ids = [pnl.get("id") for pnl in panels]
    check(len(ids) == len(set(ids)), "dashboard: panel ids are unique")
    check(all(0 <= pnl["gridPos"]["x"] and pnl["gridPos"]["x"] + pnl["gridPos"]["w"] <= 24 for pnl in panels), "dashboard: panels fit the 24-column grid")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    check(variables.get("datasource", {}).get("type") == "datasource" and variables["datasource"].get("query") == "prometheus",
          "dashboard: a Prometheus data source variable")
    targets = [t for pnl in panels for t in pnl.get("targets", [])]
    check(bool(targets) and all(t.get("expr") for t in targets), f"dashboard: every target has a query ({len(targets)})")
    check(all(pnl.get("datasource", {}).get("uid") == "${datasource}" for pnl in panels if pnl.get("type") != "row")
          and all(t.get("datasource", {}).get("uid") == "${datasource}" for t in targets), "dashboard: every query uses ${datasource}")

for status, msg in results:
    print(f"  {status:<5} {msg}")
PY
)"
    rc=$?
    if [[ $VERBOSE == 1 ]]; then printf '%s\n' "$out"; else grep '^  FAIL ' <<<"$out" || true; fi
    PASS=$((PASS + $(grep -c '^  ok ' <<<"$out")))
    FAIL=$((FAIL + $(grep -c '^  FAIL ' <<<"$out")))
    [[ $rc -eq 0 ]] || bad "the YAML/Dockerfile checker crashed (exit $rc)"
fi
# Kustomize renders offline (kubectl apply --dry-run=client would need an API server).
if command -v kubectl >/dev/null 2>&1; then
    if kubectl kustomize deploy/k8s >/dev/null 2>/tmp/check-deploy.$$; then ok "kubectl kustomize deploy/k8s"; else bad "kubectl kustomize deploy/k8s: $(head -3 /tmp/check-deploy.$$)"; fi
    rm -f /tmp/check-deploy.$$
fi

if [[ $FAIL -eq 0 ]]; then
    echo "check-deploy: OK ($PASS checks passed; docker/k8s are syntax-checked only, not run)"
else
    echo "check-deploy: FAILED ($FAIL of $((PASS + FAIL)) checks failed)"
    exit 1
fi
