import csv, json, io
from pathlib import Path
H = Path("tests/golden/mask/in")
rows = list(csv.reader(open(H/"penalty-utf8.csv", encoding="utf-8", newline="")))
header, body = rows[0], rows[1:40]
# reorder columns (the file order differs from the kind's) and add a prohibited column
order = list(range(len(header)))[::-1]
hdr = [header[i] for i in order] + ["宗教信仰"]
out = []
for n, r in enumerate(body):
    r = list(r)
    ix = {c: i for i, c in enumerate(header)}
    if n == 1: r[ix["证件号码"]] = r[ix["证件号码"]][:-1] + "x" if r[ix["证件号码"]] else r[ix["证件号码"]]
    if n == 2: r[ix["行政相对人名称"]] = "\u3000" + r[ix["行政相对人名称"]] + " "
    if n == 3: r[ix["处罚决定日期"]] = r[ix["处罚决定日期"]].replace("-", "/")
    if n == 4: r[ix["处罚决定日期"]] = r[ix["处罚决定日期"]].replace("-", "")
    if n == 5: r[ix["罚款金额"]] = "1,234.50"
    if n == 6: r[ix["违法事实"]] += "联系电话13812345678，身份证号110101199003077777，银行卡6222020200112233445。"
    if n in (7, 25, 26, 27, 28): r[ix["行政处罚决定书文号"]] = f"枣罚 1391234567{n % 10}"
    if n == 8: r[ix["处罚决定日期"]] = "2025-02-30"
    if n == 9: r[ix["违法行为严重程度"]] = "很严重"
    if n == 10: r[ix["行政相对人类别"]] = "外星人"
    if n == 11: r[ix["罚款金额"]] = "-5"
    if n == 12: r[ix["违法事实"]] = "第一行\n第二行，含 \"引号\", 逗号"
    if n == 13: r[ix["统一社会信用代码"]] = r[ix["统一社会信用代码"]].lower()
    if n == 14: r[ix["行政处罚决定书文号"]] = "=HYPERLINK(\"x\")"
    if n == 15: r[ix["法定代表人"]] = "张3"
    if n == 16: r[ix["证件号码"]] = " 37040619780909089X "
    if n == 17: r[ix["处罚有效期"]] = ""
    if n == 18: r[ix["违法事实"]] += "另查明当事人邮箱 zhang.san@example.com 及座机 0632-1234567。"
    vals = [r[i] for i in order] + (["佛教"] if n == 19 else [" "] if n == 20 else [""])
    out.append(vals)
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\r\n")
w.writerow(hdr)
for n, v in enumerate(out):
    if n == 22:
        buf.write("\r\n")          # a blank line (skipped, but counted in row numbers)
    if n == 24:
        w.writerow(v[:-3])         # too few fields: a reader BadRow in the middle
        continue
    w.writerow(v)
(H/"penalty-edge.csv").write_bytes(buf.getvalue().encode("utf-8"))
with open(H/"penalty-edge.jsonl", "w", encoding="utf-8") as f:
    for v in out[:30]:
        f.write(json.dumps(dict(zip(hdr, v)), ensure_ascii=False) + "\n")
    f.write("{not json}\n")
    for v in out[30:]:
        f.write(json.dumps(dict(zip(hdr, v)), ensure_ascii=False) + "\n")
