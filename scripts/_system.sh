# Sourced by .ci/run: the system packages the report tests and the subject report's PDF need.
#   chromium        the real browser the report tests render every page in (tests/reports/test_reports.py)
#   fonts-noto-cjk  Chinese glyphs for the browser and for the PDF, which embeds them (no boxes)
#   libpango        WeasyPrint's text layout (the PDF of `xinan report subject`)
#   poppler-utils   pdffonts / pdftoppm: the tests check the PDF embeds its CJK fonts and look at it
#   eatmydata       fsync as a no-op for the test run only (scripts/test.sh says why)
# Installed only when missing; CI runs as root on a fresh machine. Elsewhere, a hint.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! (command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh-cn family | grep -qi "CJK"); then
  need+=(fonts-noto-cjk)
fi
# ldconfig lives in /sbin, which a minimal PATH (env -i, some CI runners) leaves out
ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"
"$ldconfig" -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0" || need+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
want=()  # speeds the run up; nothing needs it
command -v eatmydata >/dev/null 2>&1 || want+=(eatmydata)
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  if [ "${#need[@]}" -gt 0 ] || [ "${#want[@]}" -gt 0 ]; then
    echo "== installing ${need[*]} ${want[*]} (apt-get) =="
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need[@]}" "${want[@]}" >/dev/null
  fi
elif [ "${#need[@]}" -gt 0 ]; then
  echo "xinan: the report tests need: ${need[*]} (apt-get install -y ${need[*]})" >&2
fi
