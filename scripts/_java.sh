# Sourced by scripts/test.sh: make sure a Java runtime for Spark is on PATH (docs/spark.md).
# pyspark 4 needs Java 17 or newer. When none is found and we are root on a Debian-family
# machine (CI is: a fresh machine, as root), install Debian's headless JRE from the package
# registry; otherwise say what to install. Never downloads anything but a distribution package.
_java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1
}
_java_ok() {
  command -v java >/dev/null 2>&1 && [ "$(_java_major)" -ge 17 ] 2>/dev/null
}
if ! _java_ok; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing a Java runtime for the Spark tests (Debian's openjdk-17-jre-headless) =="
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "xinan: no Java 17+ found; the Spark tests need one (e.g. apt-get install" \
      "openjdk-17-jre-headless); they fail under CI=true and are skipped otherwise" >&2
  fi
fi
if _java_ok && [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  export JAVA_HOME
fi
