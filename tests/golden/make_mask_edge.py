"""Write the hand-made mask golden inputs (penalty-edge.csv/.jsonl) from the synthetic penalty
file: reordered columns, a prohibited column, and one deliberate problem per row where the
synthetic data has none (whitespace, lower-case check characters, other date forms, thousands
separators, identifiers in free text and in the wrong column, a quoted line break, a blank
line, a short row). Run from the repository root, then tests/golden/make_mask_golden.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

H = Path("tests/golden/mask/in")


def _edit(n: int, r: list[str], ix: dict[str, int]) -> None:
    def put(col: str, value: str) -> None:
        r[ix[col]] = value

    def get(col: str) -> str:
        return r[ix[col]]

    if n == 1 and get("证件号码"):
        put("证件号码", get("证件号码")[:-1] + "x")
    edits = {
        2: ("行政相对人名称", "\u3000" + get("行政相对人名称") + " "),
        3: ("处罚决定日期", get("处罚决定日期").replace("-", "/")),
        4: ("处罚决定日期", get("处罚决定日期").replace("-", "")),
        5: ("罚款金额", "1,234.50"),
        6: (
            "违法事实",
            get("违法事实")
            + "联系电话13812345678，身份证号110101199003077777，银行卡6222020200112233445。",
        ),
        8: ("处罚决定日期", "2025-02-30"),
        9: ("违法行为严重程度", "很严重"),
        10: ("行政相对人类别", "外星人"),
        11: ("罚款金额", "-5"),
        12: ("违法事实", '第一行\n第二行，含 "引号", 逗号'),
        13: ("统一社会信用代码", get("统一社会信用代码").lower()),
        14: ("行政处罚决定书文号", '=HYPERLINK("x")'),
        15: ("法定代表人", "张3"),
        16: ("证件号码", " 37040619780909089X "),
        17: ("处罚有效期", ""),
        18: (
            "违法事实",
            get("违法事实") + "另查明当事人邮箱 zhang.san@example.com 及座机 0632-1234567。",
        ),
    }
    if n in edits:
        put(*edits[n])
    if n in (7, 25, 26, 27, 28):  # a mobile number typed into a clear column: the guard's work
        put("行政处罚决定书文号", f"枣罚 1391234567{n % 10}")


def main() -> None:
    with (H / "penalty-utf8.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:40]
    order = list(range(len(header)))[::-1]  # the file's column order differs from the kind's
    hdr = [header[i] for i in order] + ["宗教信仰"]
    ix = {c: i for i, c in enumerate(header)}
    out = []
    for n, row in enumerate(body):
        r = list(row)
        _edit(n, r, ix)
        religion = "佛教" if n == 19 else " " if n == 20 else ""
        out.append([r[i] for i in order] + [religion])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(hdr)
    for n, v in enumerate(out):
        if n == 22:
            buf.write("\r\n")  # a blank line: skipped, but counted in row numbers
        if n == 24:
            w.writerow(v[:-3])  # too few fields: a reader's bad row in the middle
            continue
        w.writerow(v)
    (H / "penalty-edge.csv").write_bytes(buf.getvalue().encode("utf-8"))
    with (H / "penalty-edge.jsonl").open("w", encoding="utf-8") as f:
        for v in out[:30]:
            f.write(json.dumps(dict(zip(hdr, v, strict=True)), ensure_ascii=False) + "\n")
        f.write("{not json}\n")
        for v in out[30:]:
            f.write(json.dumps(dict(zip(hdr, v, strict=True)), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
