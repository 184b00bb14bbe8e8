#!/usr/bin/python3
"""The release metadata agrees with itself: META.json has what PGXN's meta
spec 1.0.0 requires, and its release version X.Y.Z is the one of
debian/changelog; the control file's default_version has an install script
and is no newer than X.Y (CONTRIBUTING.md, "Versions"); every place that
names a license names the PostgreSQL License.

    test/check_meta.py [--zip contact_list_fdw-X.Y.Z.zip]

--zip also checks the PGXN zip: one top directory contact_list_fdw-X.Y.Z/
holding this META.json, the control file and the install script.
Exits 1, saying why, on any disagreement."""
import json
import os
import re
import sys
import zipfile

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
errors = []


def fail(msg):
    errors.append(msg)


def vtuple(v):
    return tuple(int(x) for x in v.split("."))


meta = json.load(open("META.json", encoding="utf-8"))
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
    if not meta.get(key):
        fail(f"META.json: required field {key!r} missing or empty")
semver = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
version = meta.get("version", "")
if not semver.match(version):
    fail(f"META.json: version {version!r} is not X.Y.Z")
if meta.get("name") != "contact_list_fdw":
    fail(f"META.json: name {meta.get('name')!r} is not contact_list_fdw")
if meta.get("meta-spec", {}).get("version") != "1.0.0":
    fail("META.json: meta-spec version is not 1.0.0")
if meta.get("license") != "postgresql":
    fail(f"META.json: license {meta.get('license')!r}, not postgresql")
if meta.get("release_status", "stable") not in ("stable", "testing", "unstable"):
    fail(f"META.json: release_status {meta.get('release_status')!r}")
provides = meta.get("provides", {}).get("contact_list_fdw")
if not provides:
    fail("META.json: provides has no contact_list_fdw")
else:
    if provides.get("version") != version:
        fail(f"META.json: provides.contact_list_fdw.version {provides.get('version')!r} is not {version!r}")
    for key in ("file", "docfile"):
        if provides.get(key) and not os.path.exists(provides[key]):
            fail(f"META.json: provides.contact_list_fdw.{key} {provides[key]} does not exist")
pg = meta.get("prereqs", {}).get("runtime", {}).get("requires", {}).get("PostgreSQL")
if pg != "15.0.0":
    fail(f"META.json: prereqs.runtime.requires.PostgreSQL is {pg!r}, not 15.0.0 (README: 15 or later)")

# debian/changelog: "contact-list-fdw (X.Y.Z-N) ..."
first = open("debian/changelog", encoding="utf-8").readline()
m = re.match(r"^contact-list-fdw \(([^)]+)\) ", first)
if not m:
    fail(f"debian/changelog: cannot read the version from {first.strip()!r}")
else:
    upstream = re.sub(r"-[^-]+$", "", m.group(1))
    if upstream != version:
        fail(f"debian/changelog is at {upstream}, META.json at {version}")

# the User-Agent every request sends names the release
agent = re.search(r'^#define CLF_USER_AGENT "contact_list_fdw/([^"]*)"', open("src/http.c", encoding="utf-8").read(), re.M)
if not agent:
    fail("src/http.c: no CLF_USER_AGENT \"contact_list_fdw/X.Y.Z\"")
elif agent.group(1) != version:
    fail(f"src/http.c: CLF_USER_AGENT names release {agent.group(1)}, META.json {version}")

# the control file's SQL version
control = open("contact_list_fdw.control", encoding="utf-8").read()
m = re.search(r"^default_version\s*=\s*'([^']+)'", control, re.M)
if not m:
    fail("contact_list_fdw.control: no default_version")
else:
    sql = m.group(1)
    if not re.match(r"^[0-9]+\.[0-9]+$", sql):
        fail(f"contact_list_fdw.control: default_version {sql!r} is not X.Y")
    elif semver.match(version) and vtuple(sql) > vtuple(version)[:2]:
        fail(f"SQL version {sql} is newer than release {version}")
    script = f"contact_list_fdw--{sql}.sql"
    if not os.path.exists(script):
        fail(f"no install script {script} for default_version {sql}")
    elif provides and provides.get("file") != script:
        fail(f"META.json: provides.contact_list_fdw.file is {provides.get('file')}, not {script}")

# the license, wherever one is named
if not open("LICENSE", encoding="utf-8").readline().startswith("PostgreSQL License"):
    fail("LICENSE is not the PostgreSQL License")
copyright_ = open("debian/copyright", encoding="utf-8").read()
if not re.search(r"^License: PostgreSQL$", copyright_, re.M):
    fail("debian/copyright does not name the PostgreSQL License")

if len(sys.argv) == 3 and sys.argv[1] == "--zip":
    top = f"contact_list_fdw-{version}/"
    with zipfile.ZipFile(sys.argv[2]) as z:
        names = z.namelist()
        outside = [n for n in names if not n.startswith(top)]
        if outside:
            fail(f"{sys.argv[2]}: entries outside {top}: {outside[:5]}")
        for f in ("META.json", "contact_list_fdw.control", "Makefile", "LICENSE",
                  f"contact_list_fdw--{m.group(1) if m else ''}.sql"):
            if top + f not in names:
                fail(f"{sys.argv[2]}: {top}{f} missing")
        if top + "META.json" in names and json.loads(z.read(top + "META.json")) != meta:
            fail(f"{sys.argv[2]}: its META.json differs from this tree's")
elif len(sys.argv) != 1:
    sys.exit(__doc__)

for e in errors:
    print(e)
if errors:
    sys.exit(1)
print(f"release {version}, SQL version {m.group(1) if m else '?'}: META.json, debian/changelog, the control file and the User-Agent agree")
