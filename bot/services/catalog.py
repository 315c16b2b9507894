"""Catalogue reads: category detection in customer text and popular in-stock products.

This is the popularity baseline; the blended recommender replaces it (issue 6)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Order, OrderItem, Product

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "electronics": ("electronic", "headphone", "earbud", "speaker", "watch", "charger", "tablet",
                    "keyboard", "mouse", "webcam", "gadget", "电子", "耳机", "音箱", "手表", "充电",
                    "平板", "键盘", "鼠标", "数码"),
    "home": ("home", "lamp", "pillow", "vacuum", "purifier", "humidifier", "storage", "家居",
             "台灯", "枕头", "扫地", "净化", "加湿", "收纳"),
    "kitchen": ("kitchen", "cook", "kettle", "fryer", "knife", "coffee", "pan", "厨房", "电饭煲",
                "水壶", "炸锅", "刀", "咖啡", "锅"),
    "fashion": ("fashion", "cloth", "jacket", "shoe", "shirt", "jeans", "backpack", "scarf",
                "服装", "衣服", "羽绒服", "鞋", "T恤", "牛仔裤", "背包", "围巾"),
    "beauty": ("beauty", "skin", "cream", "sunscreen", "cleanser", "hair", "lipstick", "makeup",
               "美妆", "护肤", "面霜", "防晒", "洁面", "吹风机", "口红", "化妆"),
    "sports": ("sport", "yoga", "dumbbell", "fitness", "gym", "cycling", "helmet", "badminton",
               "running", "运动", "瑜伽", "哑铃", "健身", "骑行", "羽毛球", "跑步"),
    "books": ("book", "novel", "read", "书", "小说", "绘本", "阅读"),
    "toys": ("toy", "kid", "child", "lego", "puzzle", "玩具", "孩子", "儿童", "积木", "拼图"),
}
CATEGORY_ZH = {"electronics": "数码电子", "home": "家居", "kitchen": "厨房", "fashion": "服饰",
               "beauty": "美妆", "sports": "运动", "books": "图书", "toys": "玩具"}


def detect_category(text: str) -> str | None:
    lowered = text.lower()
    for category, words in CATEGORY_WORDS.items():
        if any(w.lower() in lowered for w in words):
            return category
    return None


@dataclass(frozen=True)
class ProductPick:
    id: int
    name_en: str
    name_zh: str
    category: str
    price_cents: int
    stock: int


def popular_in_stock(s: Session, category: str | None = None, customer_id: int | None = None,
                     limit: int = 3) -> list[ProductPick]:
    sold = func.coalesce(func.sum(OrderItem.quantity), 0)
    q = (select(Product, sold.label("sold"))
         .outerjoin(OrderItem, OrderItem.product_id == Product.id)
         .where(Product.stock > 0).group_by(Product.id).order_by(sold.desc(), Product.id)
         .limit(limit))
    if category:
        q = q.where(Product.category == category)
    if customer_id is not None:
        bought = select(OrderItem.product_id).join(Order).where(Order.customer_id == customer_id)
        q = q.where(Product.id.not_in(bought))
    return [ProductPick(p.id, p.name_en, p.name_zh, p.category, p.price_cents, p.stock)
            for p, _ in s.execute(q).all()]


def brand_names(s: Session) -> list[str]:
    """Brands in the catalogue: words the redactor must not mistake for people's names."""
    return sorted({b for b in s.scalars(select(Product.brand).distinct()) if b})
