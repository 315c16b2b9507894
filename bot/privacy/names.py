"""Person names the NER model cannot see: names after a cue ("my name is", 我叫, 收件人), a
Chinese surname before an honorific (王先生 → the surname is hidden, the honorific kept), and
jieba's person tags when the word starts with a common surname."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from bot.privacy.spans import Kind

Found = tuple[int, int, Kind]

# ------------------------------------------------------------------------------ English

_WORD = r"[A-Z][a-zà-öø-ÿ'’\-]+|[A-Z]\."
_NAME = r"(?:" + _WORD + r")(?:\s+(?:" + _WORD + r")){0,2}"
# After these a lowercase word is a name too ("my name is tom").
STRONG_CUE = re.compile(
    r"(?i:\bmy name(?:\s+is|'s|’s)|\bname\s*[:：])\s+(?P<name>[A-Za-z][a-zà-öø-ÿ'’\-]+"
    r"(?:\s+(?:" + _WORD + r")){0,2})"
)
WEAK_CUE = re.compile(
    r"(?i:\b(?:i'?m|i’m|i am|it'?s|it’s|this is|here is|recipient|contact|dear|hi|hello|hey"
    r"|thanks|thank you|regards|best|cheers|signed,|wife|husband|daughter|son|mum|mom|dad|assistant"
    r"|colleague|friend|gf|bf))[,:]?\s+(?P<name>" + _NAME + r")"
)
_NOT_NAMES = frozenset(
    "I I'm The This That It Its Sorry Not Very So Just Still Here There In On At From To For "
    "Kefu Team Order Thanks Thank Hi Hello Hey Please Pls Ok Okay Yes No Sir Madam All Guys "
    "Everyone Support Customer Service Again Back Good Fine Happy Monday Tuesday Wednesday "
    "Thursday Friday Saturday Sunday January February March April May June July August "
    "September October November December Mr. Mrs. Ms. Dr. Mr Mrs Ms Dr Miss".split()
)


def english_cued_names(text: str) -> Iterator[Found]:
    for pattern in (STRONG_CUE, WEAK_CUE):
        for m in pattern.finditer(text):
            words = m.group("name").split()
            while words and words[0] in _NOT_NAMES:
                words.pop(0)
            while words and words[-1] in _NOT_NAMES:
                words.pop()
            if not words:
                continue
            start = text.index(words[0], m.start("name"))
            end = text.index(words[-1], start) + len(words[-1])
            yield start, end, "PERSON"


# ------------------------------------------------------------------------------ Chinese

# Common surnames (roughly the 150 most frequent), minus characters that are far more often
# ordinary words (和, 时, 成, 路, 全, 应, 明, 商, 车, 连, 向, 单…).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
    "覃武戴莫孔汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳祝舒阮柯纪梅童"
    "凌毕季裴霍涂苗谷盛曲翁冉骆蓝游辛靳柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆卓吉缪芦麦褚娄窦戚岑费"
    "卜冷晏卫米柏宗瞿桂佟臧闵苟邬卞姬仇栾隋刁沙荣巫寇桑郎甄丛仲虞敖巩佘查邝"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容",
                     "令狐", "夏侯", "长孙", "宇文", "司徒", "南宫", "独孤")
_SURNAME = "(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SURNAMES)) + "])"
# Characters that end a name rather than continue it: particles, verbs and nouns that follow
# names in customer messages ("王丽说…", "陈一鸣也买了", "刘德明代签收").
_STOP = ("的了是在也和与说帮代要想给到就还都先女小老同师经太吗呢吧啊呀么们这那个"
         "电手号订单地址邮箱收买下已会能可把被让从对向跟用")
_GIVEN = f"(?:(?![{_STOP}])[\u4e00-\u9fff])"
_HONORIFIC = "先生|女士|小姐|老师|同学|经理|师傅|太太|阿姨|总"
_CUE = ("我叫|我是|名字是|名字叫|叫做|姓名|收件人|收货人|联系人|开户人|签收人|寄件人"
        "|客服|同事|老婆|老公|朋友")
_HAN_CUE = "我叫|名字是|名字叫|叫做|姓名"

ZH_CUED = re.compile(f"(?:{_CUE})[\\s:：]*(?P<name>{_SURNAME}{_GIVEN}{{1,2}})")
# Strong cues name anyone, surname list or not (阿里木江); weak cues need a known surname.
ZH_STRONG_CUED = re.compile(f"(?:{_HAN_CUE})[\\s:：]*(?P<name>{_GIVEN}{{2,4}})(?![\u4e00-\u9fff])")
ZH_LATIN_CUED = re.compile(
    f"(?:{_CUE}|我的名字是)[\\s:：]*(?P<name>[A-Z][a-z]+(?:\\s[A-Z][a-z]+){{0,2}})"
)
ZH_HONORIFIC = re.compile(f"(?P<full>{_SURNAME}{_GIVEN}{{1,2}})(?={_HONORIFIC})"
                          f"|(?P<name>{_SURNAME})(?={_HONORIFIC})")
_HONORIFIC_END = re.compile(f"(?:{_HONORIFIC})$")
_MEASURE_BEFORE = re.compile("[这那一两几每哪某]$")
_PLACE_END = re.compile("[省市区县镇乡村路街道园城楼店]$")


def chinese_names(text: str, tokens: Sequence[tuple[str, str, int]]) -> Iterator[Found]:
    """``tokens``: (word, part-of-speech flag, start offset) from jieba, covering ``text``."""
    for pattern in (ZH_CUED, ZH_STRONG_CUED, ZH_LATIN_CUED):
        for m in pattern.finditer(text):
            yield m.start("name"), m.end("name"), "PERSON"
    for m in ZH_HONORIFIC.finditer(text):
        group = "name" if m.group("name") else "full"
        yield m.start(group), m.end(group), "PERSON"
    for word, flag, start in tokens:
        if not flag.startswith("nr"):
            continue
        # jieba tags "郑先生" as one name: hide the surname, keep the honorific
        name = _HONORIFIC_END.sub("", word)
        if not (2 if name == word else 1) <= len(name) <= 4:
            continue
        word = name
        if not re.fullmatch("[\u4e00-\u9fff]+", word) or _PLACE_END.search(word):
            continue
        if not (word[0] in SURNAMES or word[:2] in COMPOUND_SURNAMES) or word[:1] * 2 == word:
            continue
        if _MEASURE_BEFORE.search(text, 0, start):  # 这张卡: 张 is a measure word
            continue
        yield start, start + len(word), "PERSON"
