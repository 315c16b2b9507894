"""Street addresses. What counts: a location precise enough to find a door — a house number
with a street, a PO box, a Chinese road + number (路/街/道…号) or village group (村…组), with
the units around it (flat, floor, building, 栋/单元/室) and the city / postcode that continue
it. What does not: a place on its own ("do you ship to London?", "能发到新疆吗", "南京市鼓楼区
能送货上门吗"), which customers need to ask about and which identifies nobody.

English: a regex finds the street line; neighbours joined by commas are taken while they look
like units, postcodes, state codes, or places that the NER model tags GPE/LOC/FAC (that is the
only way a place name becomes part of an ADDRESS). Chinese: the road + number anchor is found
by regex, extended left over jieba tokens that are administrative units (省/市/区/县/镇…) or the
road's own name, and right over building, unit and room parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from bot.privacy.spans import Kind

# ---------------------------------------------------------------- English (and Latin script)

# Street types, after the USPS list of common suffixes and their usual abbreviations.
_SUFFIX = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Av|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl"
    r"|Square|Sq|Terrace|Close|Crescent|Cres|Way|Parkway|Pkwy|Highway|Hwy|Grove|Gardens"
    r"|Row|Mews|Walk|Circle|Cir|Trail|Trl|Alley|Plaza|Quay|Wharf|Loop|Broadway|Route|Rte"
    r"|Burg|Village|Crossing|Xing|Port|Ports|Point|Pt|Ridge|Ranch|Station|Heights|Hts|Valley"
    r"|Creek|Estates|Falls|Ferry|Fields?|Flats|Ford|Forest|Forks?|Garden|Gateway|Glen|Green"
    r"|Harbou?r|Haven|Hills?|Hollow|Island|Junction|Knoll|Lakes?|Landing|Lodge|Manor"
    r"|Meadows?|Mills?|Mountains?|Oval|Park|Pass|Path|Pike|Pines|Plains?|Prairie|Rapids"
    r"|River|Shores?|Springs?|Spur|Summit|Trace|Track|Turnpike|View|Ville|Vista|Wells"
    r"|Camp|Canyon|Cape|Causeway|Center|Centre|Cliffs?|Common|Corners?|Cove|Curve|Dale"
    r"|Expressway|Extension|Freeway|Motorway)"
)
_NAME_WORD = r"(?:[A-Z][\w'’\-]*|\d+(?:st|nd|rd|th))"
STREET_LINES: tuple[re.Pattern[str], ...] = (
    # 42 Elm Street · 221B Baker St · 350 5th Ave · 88 Queen St W · 1600 Pennsylvania Ave NW
    re.compile(r"(?<![\w\-])\d{1,5}[A-Za-z]?(?:-\d{1,5})?\s+" + _NAME_WORD
               + r"(?:\s+" + _NAME_WORD + r"){0,3}\s+" + _SUFFIX
               + r"\.?(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?(?![\w\-])"),
    # 12 rue de Rivoli · 8 avenue Foch
    re.compile(r"(?<![\w\-])\d{1,5}[a-z]?,?\s+(?i:rue|avenue|boulevard|bd|place|chemin|allée)"
               r"\s+[^\W\d][^,\n\d]{1,40}?(?=\s*(?:[,\n]|$))"),
    # Calle Mayor 15 · Via Roma 3 · Friedrichstraße 43
    re.compile(r"\b(?:(?:Calle|Carrer|Via|Viale|Rua|Avenida|Rue)\s+[^,\n\d]{1,40}?"
               r"|[A-ZÄÖÜ][\wäöüß\-]*(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm))"
               r"\s+\d{1,5}[a-zA-Z]?(?:-\d{1,5})?\b"),
    re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d{1,6}\b", re.IGNORECASE),
)
_UNIT = (r"(?:(?:Apt|Apartment|Flat|Unit|Suite|Ste|Room|Rm|Villa|Building|Bldg|Block|Blk|Tower"
         r"|Floor|Fl)\.?\s*#?[A-Za-z0-9\-]{1,6}|\d{1,3}(?:st|nd|rd|th)\s+[Ff]loor|#\d[\w\-]*"
         r"|\d{1,3}[ºª°]\s?[A-Za-z]?)")
UNIT_BEFORE = re.compile(r"(?:" + _UNIT + r"\s*,\s*)+$")
_POSTCODE = (
    r"(?:[A-Z]{2,3}\s+\d{4,5}(?:-\d{4})?"  # IL 62704 · NSW 2000
    r"|(?:[A-Z]{2}\s+)?[A-Z]\d[A-Z]\s?\d[A-Z]\d"  # ON M5H 2N2
    r"|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"  # LS6 2AB
    r"|\d{3}-\d{4}|\d{4,6})"  # 104-0061 · 75001
)
_PLACE = r"[A-Z][a-zà-ÿ'’\-]+(?:\s+[A-Z][a-zà-ÿ'’\-]+){0,2}"
_SEGMENT = re.compile(r"[ \t]*,?[ \t]*(?P<seg>" + _UNIT + r"|" + _POSTCODE + r"(?:\s+" + _PLACE
                      + r")?|" + _PLACE + r"(?:\s+" + _POSTCODE + r")?)(?![\w\-])")
_STRONG = re.compile(r"(?:" + _UNIT + r"|.*\d.*)")  # a unit, or anything carrying a postcode

Found = tuple[int, int, Kind]
PlaceCheck = Callable[[int, int], bool]


def _extend_right(text: str, end: int, is_place: PlaceCheck) -> int:
    """Take following segments while they look like part of the address: units, postcodes,
    state codes; a capitalised name only when the model calls it a place or a postcode
    comes right after it ("Eugene, OR 97401")."""
    for _ in range(6):
        m = _SEGMENT.match(text, end)
        if not m:
            break
        seg_start, seg_end = m.span("seg")
        if _STRONG.fullmatch(m.group("seg")) or is_place(seg_start, seg_end):
            end = seg_end
            continue
        after = _SEGMENT.match(text, seg_end)
        if not (after and _STRONG.fullmatch(after.group("seg"))):
            break
        end = after.end("seg")
    return end


def street_addresses(text: str, is_place: PlaceCheck) -> Iterator[Found]:
    for pattern in STREET_LINES:
        for m in pattern.finditer(text):
            start, end = m.span()
            unit = UNIT_BEFORE.search(text, max(0, start - 60), start)
            if unit:
                start = unit.start()
            yield start, _extend_right(text, end, is_place), "ADDRESS"


# ------------------------------------------------------------------------------ Chinese

_HAN = r"\u4e00-\u9fff"
_ROAD = r"(?:路|街|道|巷|弄|胡同|里)(?:[东西南北中一二三四五六七八九十]{1,2}段)?"
ZH_ANCHORS = re.compile(
    r"(?P<road>" + _ROAD + r")\s?\d{1,5}(?:-\d{1,5})?\s?(?:号院|号|弄)"
    r"|(?P<village>村)\s?\d{1,3}\s?组"
    r"|(?P<estate>小区|花园|公寓|大厦|家园|新村|社区|广场)\s?\d{1,4}\s?(?:号楼|栋|幢|座)"
)
_BUILDING = (r"大厦|大楼|中心|广场|公寓|小区|花园|苑|园|城|校区|大学|学院|医院|酒店|宾馆|商场"
             r"|百货|写字楼|家园|新村|社区|村|组|座|栋|幢|号楼|楼|层|舍|区|院|期|室")
_TAIL_ITEM = (
    r"\s?(?:\d{1,5}(?:-\d{1,5}){0,2}(?:号楼|栋|幢|座|单元|楼|层|室|号|舍|区|期|门|户)?"
    r"|[A-Za-z]{1,6}\d{0,4}(?:座|栋|区)?"
    r"|[" + _HAN + r"]{0,12}(?:" + _BUILDING + r")"
    r"|[" + _HAN + r"]{1,6}(?=[A-Za-z]))"
)
ZH_TAIL = re.compile(r"(?:" + _TAIL_ITEM + r")*(?:旁|对面|附近|隔壁|楼下)?")
_ADMIN = re.compile(r"(?:省|市|区|县|镇|乡|村|旗|州|盟|街道|自治区|特别行政区|新区|开发区)$")
# A unit word standing alone as a token ("太清宫 | 镇", "新安 | 街道"): its name precedes it.
_BARE_UNITS = frozenset("省 市 区 县 镇 乡 村 旗 街道 社区".split())
_PROVINCES = frozenset(
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 "
    "广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门".split()
)
# Words that end the walk to the left even though they are nouns: the cue, not the address.
_CUES = frozenset("地址 住址 公司地址 收货地址 收件地址 邮寄地址 寄回地址 新地址 单位 公司 家 快递 "
                  "到 在 住 我住 是 改成 寄到 发到 送到 请送到 请寄到 放 寄 发 送".split())
# Pronouns, prepositions, particles and conjunctions never name a road ("解放" may: a verb).
_NOT_NAME_FLAGS = ("r", "p", "u", "y", "c", "e", "o", "x")
_NOT_ROAD_FLAGS = ("v", "r", "d", "p", "c", "u", "y")


def _is_admin(word: str) -> bool:
    return bool(_ADMIN.search(word)) or word in _PROVINCES


def _walk_left(tokens: Sequence[tuple[str, str, int]], index: int, road: bool) -> int:
    """Start offset of the address whose anchor sits in ``tokens[index]``: the road's own name
    (one or two tokens when the road token is bare like "大道"/"北路"), then administrative
    units, stopping at punctuation, spaces not followed by a unit, cues and verbs."""
    word, _, start = tokens[index]
    i = index
    if road and len(word) <= 3:
        for _ in range(2):
            if i == 0:
                break
            prev, flag, pstart = tokens[i - 1]
            if (not re.fullmatch(f"[{_HAN}]+", prev) or prev in _CUES or _is_admin(prev)
                    or flag.startswith(_NOT_NAME_FLAGS)):
                break
            i, start = i - 1, pstart
            if len(prev) >= 2:
                break
    while i > 0:
        prev, _, pstart = tokens[i - 1]
        if prev.isspace() and i > 1 and _is_admin(tokens[i - 2][0]):
            i -= 1
            continue
        if not _is_admin(prev) or prev in _CUES:
            break
        i, start = i - 1, pstart
        if prev in _BARE_UNITS and i > 0:
            name, _, nstart = tokens[i - 1]
            if re.fullmatch(f"[{_HAN}]+", name) and name not in _CUES and not _is_admin(name):
                i, start = i - 1, nstart
    return start


def chinese_addresses(text: str, tokens: Sequence[tuple[str, str, int]]) -> Iterator[Found]:
    """``tokens``: (word, part-of-speech flag, start offset) from jieba, covering ``text``."""
    for m in ZH_ANCHORS.finditer(text):
        kind = m.lastgroup or "road"
        anchor = m.start(kind)
        index = next((i for i, (w, _, s) in enumerate(tokens) if s <= anchor < s + len(w)), None)
        # "我知道3号发货", "这里5号": the suffix character ends a verb or a pronoun, not a road
        if index is None or (kind == "road" and tokens[index][1].startswith(_NOT_ROAD_FLAGS)):
            continue
        start = _walk_left(tokens, index, kind == "road")
        tail = ZH_TAIL.match(text, m.end())
        yield start, tail.end() if tail else m.end(), "ADDRESS"
