"""Synthetic credit records for every record kind (``xinan fake``), for demos, tests and benchmarks.

Identities are synthetic: names, companies and addresses from Faker zh_CN; resident IDs, USCCs
and bank cards generated with correct check characters (GB 11643-1999, GB 32100-2015, Luhn)
and synthetic sequence numbers. No real person's number is used.

Faker is slow per call, so small pools are drawn from it once and rows are composed from them
with a seeded :class:`random.Random` — reproducible, and fast enough for 10 million rows.
``random`` is right here: this is test data, not a secret (bandit B311 is silenced with that
reason).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from xinan.identifiers import resident_id_check_char, uscc_check_char
from xinan.policy.catalogue import Policy, RecordKind

KINDS = ("penalty", "license", "person", "company")

# 枣庄市 districts/counties (GB/T 2260) and a few other Shandong ones.
REGIONS = {
    "370402": "山东省枣庄市市中区",
    "370403": "山东省枣庄市薛城区",
    "370404": "山东省枣庄市峄城区",
    "370405": "山东省枣庄市台儿庄区",
    "370406": "山东省枣庄市山亭区",
    "370481": "山东省枣庄市滕州市",
    "370102": "山东省济南市历下区",
    "370202": "山东省青岛市市南区",
}
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_MOBILE_PREFIXES = tuple(
    str(p)
    for p in (
        *range(130, 140),
        *(150, 151, 152, 153, 155, 156, 157, 158, 159, 166, 170, 173, 175, 176, 177, 178),
        *range(180, 190),
        *(191, 198, 199),
    )
)
_STREETS = (
    "光明路",
    "文化路",
    "建设路",
    "解放路",
    "青檀路",
    "龙头路",
    "华山路",
    "振兴路",
    "民生路",
    "杏坛路",
)
_AUTHORITIES = (
    ("枣庄市市场监督管理局", "枣市监罚"),
    ("枣庄市生态环境局", "枣环罚"),
    ("枣庄市应急管理局", "枣应急罚"),
    ("枣庄市交通运输局", "枣交罚"),
    ("枣庄市住房和城乡建设局", "枣建罚"),
    ("枣庄市卫生健康委员会", "枣卫罚"),
)
_LICENSE_AUTHORITIES = (
    ("枣庄市行政审批服务局", "枣审批"),
    ("枣庄市市场监督管理局", "枣市监许"),
)
_VIOLATIONS = (
    ("销售不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条", "食品"),
    ("未取得营业执照从事经营活动", "《无证无照经营查处办法》第十三条", "经营"),
    ("超标排放大气污染物", "《中华人民共和国大气污染防治法》第九十九条", "环保"),
    ("未按规定开展安全生产教育和培训", "《中华人民共和国安全生产法》第九十七条", "安全生产"),
    ("发布虚假广告", "《中华人民共和国广告法》第五十五条", "广告"),
    ("未按规定办理施工许可擅自施工", "《建筑工程施工许可管理办法》第十二条", "建设"),
    ("道路运输车辆未按规定进行年度审验", "《道路运输条例》第七十条", "交通"),
)
_LICENSES = (
    ("食品经营许可证", "食品经营许可", "JY"),
    ("排污许可证", "排污许可", "PW"),
    ("道路运输经营许可证", "道路运输经营许可", "YS"),
    ("建筑工程施工许可证", "施工许可", "SG"),
)
_ID_TYPES = "身份证"
_COUNTIES = ("市中区", "薛城区", "滕州市")
_SHOPS = ("便利店", "小吃店", "五金店", "理发店")
_CLASS_WEIGHTS = (("法人及非法人组织", 0.6), ("自然人", 0.25), ("个体工商户", 0.15))


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


@dataclass(frozen=True)
class _Pools:
    names: tuple[str, ...]
    companies: tuple[str, ...]
    streets: tuple[str, ...]


@functools.lru_cache(maxsize=32)
def _pools(seed: int) -> _Pools:
    """Faker's names for ``seed`` (the same for the same seed: drawn once per process, for up
    to 32 seeds: a pool is about half a megabyte and takes about 0.1 s to draw)."""
    # imported here: Faker's locale tables cost about 0.3 s, which every command paid at
    # start-up when this module imported it (only `xinan fake` and the demo draw from it)
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return _Pools(
        names=tuple(fake.name() for _ in range(3000)),
        companies=tuple(fake.company() for _ in range(2000)),
        streets=(*(fake.street_name() for _ in range(300)), *_STREETS),
    )


class Synth:
    """Composes synthetic rows in a policy's layout. One instance per stream (it holds the RNG)."""

    def __init__(self, policy: Policy, *, seed: int = 0, today: date) -> None:
        self.policy = policy
        self.today = today
        # synthetic test data, reproducible by design: not a secret
        self.rng = random.Random(seed)  # noqa: S311  # nosec B311
        self.pools = _pools(seed)
        # Synthetic but valid USCCs for the authorities, fixed per seed.
        self.authority_codes = {name: self.uscc("11", "370400") for name, _ in _AUTHORITIES}
        self.authority_codes.update(
            {name: self.uscc("11", "370400") for name, _ in _LICENSE_AUTHORITIES}
        )
        self._serial = 0

    # -- identifiers ------------------------------------------------------------------------
    def resident_id(self, *, min_age: int = 18, max_age: int = 75) -> str:
        r = self.rng
        region = r.choice(list(REGIONS))
        birth = self.today - timedelta(days=r.randint(min_age * 365, max_age * 365))
        body = f"{region}{birth:%Y%m%d}{r.randint(0, 999):03d}"
        return body + resident_id_check_char(body)

    def uscc(self, kind: str = "91", region: str | None = None) -> str:
        r = self.rng
        region = region or r.choice(list(REGIONS))
        org = "".join(r.choice(_USCC_ALPHABET) for _ in range(9))
        body = f"{kind}{region}{org}"
        return body + uscc_check_char(body)

    def mobile(self) -> str:
        return self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"

    def landline(self) -> str:
        return f"0632-{self.rng.randint(2_000_000, 8_999_999)}"

    def bank_card(self) -> str:
        body = self.rng.choice(("622848", "621700", "622202", "623668")) + "".join(
            str(self.rng.randint(0, 9)) for _ in range(12)
        )
        return body + luhn_digit(body)

    def name(self) -> str:
        return self.rng.choice(self.pools.names)

    def company(self) -> str:
        return self.rng.choice(self.pools.companies)

    def address(self) -> str:
        r = self.rng
        region = REGIONS[r.choice(list(REGIONS)[:6])]
        return f"{region}{r.choice(self.pools.streets)}{r.randint(1, 999)}号"

    def past_date(self, years: int = 5) -> date:
        return self.today - timedelta(days=self.rng.randint(1, years * 365))

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    # -- parties ----------------------------------------------------------------------------
    def party(self) -> dict[str, str]:
        r = self.rng
        cls = r.choices([c for c, _ in _CLASS_WEIGHTS], [w for _, w in _CLASS_WEIGHTS])[0]
        if cls == "自然人":
            return {
                "行政相对人名称": self.name(),
                "行政相对人类别": cls,
                "证件类型": _ID_TYPES,
                "证件号码": self.resident_id(),
            }
        rep = self.name()
        if cls == "个体工商户":
            name = (
                rep if r.random() < 0.3 else f"枣庄市{r.choice(_COUNTIES)}{rep}{r.choice(_SHOPS)}"
            )
            region = "370402"
        else:
            name, region = self.company(), r.choice(list(REGIONS))
        return {
            "行政相对人名称": name,
            "行政相对人类别": cls,
            "统一社会信用代码": self.uscc("92" if cls == "个体工商户" else "91", region),
            "法定代表人": rep,
            "法定代表人证件类型": _ID_TYPES,
            "法定代表人证件号码": self.resident_id(),
        }

    def facts(self, party: dict[str, str], what: str, when: date) -> str:
        r = self.rng
        who = "当事人" + party["行政相对人名称"]
        place = self.address()
        text = f"{who}于{when.year}年{when.month}月{when.day}日在{place}{what}，经查证属实。"
        roll = r.random()
        # Some providers type identifiers into free text; the masker must catch them.
        if roll < 0.10 and party.get("证件号码"):
            text += f"当事人身份证号码{party['证件号码']}。"
        elif roll < 0.18:
            text += f"联系电话{self.mobile()}。"
        elif roll < 0.22 and party.get("法定代表人"):
            text += f"法定代表人{party['法定代表人']}到场接受调查。"
        return text

    # -- kinds ------------------------------------------------------------------------------
    def penalty(self) -> dict[str, str]:
        r = self.rng
        p = self.party()
        authority, prefix = r.choice(_AUTHORITIES)
        when = self.past_date(5)
        what, basis, vtype = r.choice(_VIOLATIONS)
        fine = r.choice((0.05, 0.2, 0.5, 1, 2, 5, 10, 30))
        sev = r.choices(("轻微", "一般", "严重"), (0.1, 0.7, 0.2))[0]
        p.update(
            {
                "行政处罚决定书文号": f"{prefix}〔{when.year}〕{self.serial()}号",
                "违法行为类型": vtype,
                "违法事实": self.facts(p, what, when),
                "处罚依据": basis,
                "处罚类别": r.choice(("罚款", "警告;罚款", "没收违法所得;罚款")),
                "处罚内容": f"罚款人民币{fine:g}万元",
                "罚款金额": f"{fine:g}",
                "没收违法所得金额": r.choice(("0", "0", "0.3", "1.2")),
                "违法行为严重程度": sev,
                "处罚决定日期": when.isoformat(),
                "处罚有效期": (when + timedelta(days=365)).isoformat(),
                "公示截止期": (
                    when + timedelta(days=365 * (3 if sev == "严重" else 1))
                ).isoformat(),
                "处罚机关": authority,
                "处罚机关统一社会信用代码": self.authority_codes[authority],
                "数据来源单位": authority,
                "数据来源单位统一社会信用代码": self.authority_codes[authority],
                "备注": "",
            }
        )
        return p

    def license(self) -> dict[str, str]:
        r = self.rng
        p = self.party()
        authority, prefix = r.choice(_LICENSE_AUTHORITIES)
        when = self.past_date(5)
        cert, content, code = r.choice(_LICENSES)
        p.update(
            {
                "行政许可决定文书名称": f"{content}决定书",
                "行政许可决定文书号": f"{prefix}〔{when.year}〕{self.serial()}号",
                "许可类别": r.choice(("普通", "特许", "认可", "核准", "登记")),
                "许可证书名称": cert,
                "许可编号": f"{code}3704{when.year}{self.serial():06d}",
                "许可内容": f"准予{content}",
                "许可决定日期": when.isoformat(),
                "有效期自": when.isoformat(),
                "有效期至": (when + timedelta(days=365 * 5)).isoformat(),
                "许可机关": authority,
                "许可机关统一社会信用代码": self.authority_codes[authority],
                "当前状态": "有效",
                "数据来源单位": authority,
                "数据来源单位统一社会信用代码": self.authority_codes[authority],
                "备注": "",
            }
        )
        return p

    def person(self) -> dict[str, str]:
        r = self.rng
        rid = self.resident_id()
        birth = f"{rid[6:10]}-{rid[10:12]}-{rid[12:14]}"
        income = f"{r.choice((6, 8, 12, 20, 35, 60))}" if r.random() < 0.3 else ""
        return {
            "姓名": self.name(),
            "证件类型": _ID_TYPES,
            "证件号码": rid,
            "性别": "男" if int(rid[16]) % 2 else "女",
            "出生日期": birth,
            "民族": r.choices(("汉族", "回族", "满族", "其他"), (0.95, 0.02, 0.02, 0.01))[0],
            "户籍地址": self.address(),
            "现住址": self.address(),
            "手机号码": self.mobile(),
            "固定电话": self.landline() if r.random() < 0.3 else "",
            "电子邮箱": f"user{r.randint(1000, 99999)}@example.com" if r.random() < 0.5 else "",
            "银行账号": self.bank_card() if r.random() < 0.5 else "",
            "个人年收入": income,
            "书面同意编号": f"SQ{self.today.year}{self.serial():08d}" if income else "",
            "学历": r.choice(("大学本科", "大学专科", "高中", "硕士研究生")),
            "工作单位": self.company(),
            "数据来源单位": "枣庄市人力资源和社会保障局",
            "更新日期": self.past_date(1).isoformat(),
        }

    def company_row(self) -> dict[str, str]:
        r = self.rng
        founded = self.past_date(20)
        return {
            "企业名称": self.company(),
            "统一社会信用代码": self.uscc("91"),
            "企业类型": r.choice(("有限责任公司", "股份有限公司", "个人独资企业", "合伙企业")),
            "法定代表人": self.name(),
            "法定代表人证件类型": _ID_TYPES,
            "法定代表人证件号码": self.resident_id(),
            "成立日期": founded.isoformat(),
            "注册资本": str(r.choice((10, 50, 100, 500, 1000, 5000))),
            "经营范围": "一般项目：技术服务、技术开发、技术咨询；销售代理。",
            "住所": self.address(),
            "登记机关": "枣庄市市场监督管理局",
            "登记状态": r.choices(("存续", "在业", "注销", "吊销"), (0.7, 0.2, 0.07, 0.03))[0],
            "联系电话": self.mobile() if r.random() < 0.6 else self.landline(),
            "电子邮箱": f"info{r.randint(100, 9999)}@example.cn",
            "基本户开户银行": r.choice(
                ("中国工商银行枣庄分行", "中国农业银行枣庄分行", "枣庄农村商业银行")
            ),
            "基本户账号": self.bank_card(),
            "数据来源单位": "枣庄市市场监督管理局",
            "更新日期": self.past_date(1).isoformat(),
        }

    # -- deliberately bad rows ---------------------------------------------------------------
    def spoil(self, kind: RecordKind, row: dict[str, str]) -> str:
        """Break one field of the row in a way validation must catch; return what was done."""
        r = self.rng
        options: list[tuple[str, Callable[[], None]]] = []

        def flip_check(col: str) -> Callable[[], None]:
            def go() -> None:
                v = row[col]
                last = v[-1]
                row[col] = v[:-1] + ("0" if last != "0" else "1")

            return go

        def set_value(col: str, value: str) -> Callable[[], None]:
            def go() -> None:
                row[col] = value

            return go

        cols = set(kind.columns)
        for col in ("证件号码", "法定代表人证件号码"):
            if col in cols and row.get(col):
                options.append((f"{col}: wrong check character", flip_check(col)))
        if "统一社会信用代码" in cols and row.get("统一社会信用代码"):
            options.append(
                ("统一社会信用代码: wrong check character", flip_check("统一社会信用代码"))
            )
        for f in kind.fields:
            if f.type.value == "date" and row.get(f.name):
                options.append((f"{f.name}: impossible date", set_value(f.name, "2024-02-30")))
                break
        for f in kind.fields:
            if f.type.value == "amount" and row.get(f.name):
                options.append((f"{f.name}: negative amount", set_value(f.name, "-5")))
                break
        for f in kind.fields:
            if f.required:
                options.append((f"{f.name}: required but empty", set_value(f.name, "")))
                break
        if kind.class_field:
            options.append(
                (f"{kind.class_field}: unknown value", set_value(kind.class_field, "外星人"))
            )
        if "手机号码" in cols:
            options.append(("手机号码: not a mobile number", set_value("手机号码", "12345")))
        what, go = r.choice(options)
        go()
        return what

    def rows(
        self, kind: RecordKind, n: int, *, bad_rate: float = 0.0
    ) -> Iterator[tuple[list[str], str | None]]:
        """Yield ``n`` rows in the kind's column order, each with the reason it is bad (or None)."""
        make = {
            "penalty": self.penalty,
            "license": self.license,
            "person": self.person,
            "company": self.company_row,
        }.get(kind.name)
        if make is None:
            raise ValueError(f"no synthetic generator for kind {kind.name!r}")
        columns = kind.columns
        for _ in range(n):
            row = make()
            bad = self.spoil(kind, row) if bad_rate and self.rng.random() < bad_rate else None
            yield [row.get(c, "") for c in columns], bad
