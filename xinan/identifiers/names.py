"""Chinese personal names: surname tables and the plausibility test used on whole values and in
free text.
"""

from __future__ import annotations

import re
from typing import Final

from xinan.identifiers.common import _is_cjk, _words

# --------------------------------------------------------------------------------------------
# Chinese personal names
# --------------------------------------------------------------------------------------------

# Single-character surnames: the Hundred Family Surnames (百家姓) single entries plus common
# modern surnames missing from it (付 肖 闫 覃 …). Characters that are also very common function
# words are in _AMBIGUOUS_SURNAMES and need a clean right edge in free text.
_SINGLE_SURNAMES: Final[frozenset[str]] = frozenset(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛"
    "奚范彭郎鲁韦昌马苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康"
    "伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵"
    "席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗"
    "丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松井段富巫"
    "乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄"
    "印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴郁胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍郤璩桑桂"
    "濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘"
    "匡国文寇广禄阙东殴殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相"
    "查后荆红游竺权逯盖益桓公欧岳帅缑亢况有琴商牟佘佴伯赏墨哈谯笪年爱阳佟第言福"
    "付肖闫覃兰晋綦揭冼麦植邝涂区练钞丛迟代修初苑鄢隋银官腾邸伞战由衣谌鞠粟尉楚卿占"
    "母补续仝庹阿亓呼颉原信过智琚操锁德旷鹿淦栗"
)
# Compound surnames (复姓): those of the Hundred Family Surnames plus a few common modern ones.
_COMPOUND_SURNAMES: Final[frozenset[str]] = _words(
    "万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于 单于 "
    "太叔 申屠 公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇 子车 颛孙 "
    "端木 巫马 公西 漆雕 乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门 呼延 归海 羊舌 "
    "微生 梁丘 左丘 东门 西门 南宫 第五 独孤"
)
# Surnames that are also common function words or verbs (于, 向, 和 …): in free text a name with
# one of these must end at a non-CJK character or a stop character, so 当事人向社会… is no name.
_AMBIGUOUS_SURNAMES: Final[frozenset[str]] = frozenset(
    "于向和时都能经从通应及那也之其以为与将对被把所在是有无不来上下中全平成明高文国东公"
    "相过信原利益满养须空别后红"
)
# Characters that do not continue a personal name in administrative prose: particles, verbs and
# prepositions that follow a name (张三于…, 李四未…), and administrative words.
_NAME_STOP_CHARS: Final[frozenset[str]] = frozenset(
    "的了吗呢吧着过们个这那其于在是未无不没也都就而及与或等被把将对向从给让因若则但并且即"
    "已曾均系称涉擅违拒自现住男女等并所为以因由经"
    "省市县区镇乡村街路号室楼局厅处科部委院校司厂店社队组站年日时秒条款项罚"
)
# Two-character words that start right after a cue word or a name and are not a name: the first
# character of each may be a surname or a given-name character, so a single-character stop list
# cannot catch them.
_NAME_STOP_WORDS: Final[frozenset[str]] = _words(
    "经营 经查 经过 经检 经核 经调 生产 销售 使用 提供 存在 从事 明知 通过 利用 采用 "
    "采取 驾驶 承认 身份 出生 签字 签名 拒绝 共同 作为 进行 开展 负责 组织 实施 委托 "
    "购进 购买 加工 运输 储存 贮存 收购 出售 出租 发布 制作 伪造 占用 非法 陈述 申辩 "
    "申请 应当 应该 应在 向社 向消 向本 以上 以下 以及 时间 时任 都是 能够 和其 及时 "
    "相关 相应 谈话 谈及 证明 证实 证件 住所 住址 联系 电话 手机 名称 名下 姓名 性别 "
    "民族 汉族 户籍 籍贯 年龄 未能 无法 称其 称该 对其 对外 对该 将其 该店 该公 该企 "
    "该单 该车 车辆 车牌 营业 个体 经销 库存 现场 当场 当日 当天 当年 本人 本案 上述 "
    "上诉 公司 企业 有限 单位 法人 法定 主要 负有 责任 违反 没有 成立 取得 全部 "
    "部分 平台 高价 文件 国家 东西 东路 方面 方式 代表 代理 安全 安装 安排 项目 江苏 "
    "山东 山西 云南 贵州 湖南 湖北 广东 广西 河南 河北 浙江 福建 江西 安徽 四川 黄河 "
    "签订 签署 签收 租赁 承租 出资 投资 持有 申报 缴纳 办理 登记 注册 领取 雇佣 聘用 "
    "招用 指使 授权 同意 确认 表示 介绍 交代 供述 到场 在场 参与 购得 收取 支付 转账 "
    "涉案 所有 所述 所在 所属 等人 宿舍 工资 食堂 名单 人数 培训 健康 会议 决议 信息"
)
_NAME_DOTS: Final = "·•・‧"  # U+00B7 (GB 18030 间隔号), U+2022, U+30FB, U+2027
_NAME_DOT_RE: Final = re.compile(f"[{_NAME_DOTS}]")
_CJK_CLASS: Final = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U000323af"
# A transliterated name after a cue word: 艾力·买买提 (parts of 1-10 ideographs).
_DOTTED_NAME_RE: Final = re.compile(
    f"[{_CJK_CLASS}]{{1,10}}(?:[{_NAME_DOTS}][{_CJK_CLASS}]{{1,10}})+"
)


def _given_ok(given: str) -> bool:
    return all(_is_cjk(c) and c not in _NAME_STOP_CHARS for c in given)


# The common case, 2-4 CJK ideographs with no separator dot, checked in one C-level match so
# that masking a name costs about as much as slicing it (bench/mask.py).
_HAN_2_4_RE: Final = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U000323af]{2,4}")


def split_chinese_name(value: str) -> tuple[str, str] | None:
    """Split a plausible Chinese personal name into (surname, given name), or return None.

    Han names: a known surname (compound first: 欧阳, 司马, 诸葛 …) and a given name of one or two
    characters (one to two after a compound surname), so 2 to 4 characters in all; surrounding
    whitespace is ignored. Names written with a separator dot (维吾尔族, 藏族 transliterations and
    foreign names, ``艾力·买买提``): every part must be CJK; the *last* part is returned as the
    surname (the family-name position of transliterated names) and the rest, dots included, as
    the given name. A heuristic: it can accept a word that merely looks like a name
    (docs/identifiers.md).
    """
    v = value.strip()
    if _HAN_2_4_RE.fullmatch(v):
        if len(v) >= 3 and v[:2] in _COMPOUND_SURNAMES:
            surname, given = v[:2], v[2:]
        elif v[0] in _SINGLE_SURNAMES and len(v) <= 3:
            surname, given = v[:1], v[1:]
        else:
            return None
        if _NAME_STOP_CHARS.isdisjoint(given) and (surname + given[:1]) not in _NAME_STOP_WORDS:
            return surname, given
        return None
    if _NAME_DOT_RE.search(v):
        parts = _NAME_DOT_RE.split(v)
        if len(parts) < 2 or any(not p or not all(map(_is_cjk, p)) for p in parts):
            return None
        if not 3 <= len(v) <= 30:
            return None
        last = parts[-1]
        return last, v[: len(v) - len(last) - 1]
    if not 2 <= len(v) <= 4 or not all(map(_is_cjk, v)):
        return None
    if len(v) >= 3 and v[:2] in _COMPOUND_SURNAMES:
        surname, given = v[:2], v[2:]
    elif v[0] in _SINGLE_SURNAMES and len(v) <= 3:
        surname, given = v[:1], v[1:]
    else:
        return None
    if not _given_ok(given) or (surname + given[:1]) in _NAME_STOP_WORDS:
        return None
    return surname, given


def is_plausible_chinese_name(value: str) -> bool:
    """True if :func:`split_chinese_name` accepts ``value``."""
    return split_chinese_name(value) is not None
