"""Product vocabulary for the demo catalogue, in English and Chinese."""

from __future__ import annotations

# category -> list of (english noun, chinese noun, base price in CNY)
PRODUCT_TYPES: dict[str, list[tuple[str, str, int]]] = {
    "electronics": [
        ("Wireless Headphones", "无线耳机", 599), ("Bluetooth Speaker", "蓝牙音箱", 299),
        ("Smartwatch", "智能手表", 1299), ("Power Bank", "充电宝", 149),
        ("USB-C Charger", "USB-C 充电器", 99), ("Tablet", "平板电脑", 2499),
        ("Mechanical Keyboard", "机械键盘", 459), ("Wireless Mouse", "无线鼠标", 129),
        ("Noise-Cancelling Earbuds", "降噪耳机", 899), ("4K Webcam", "4K 摄像头", 399),
    ],
    "home": [
        ("Air Purifier", "空气净化器", 1599), ("Desk Lamp", "台灯", 199),
        ("Memory Foam Pillow", "记忆棉枕头", 159), ("Robot Vacuum", "扫地机器人", 1999),
        ("Humidifier", "加湿器", 259), ("Storage Box Set", "收纳箱套装", 89),
    ],
    "kitchen": [
        ("Rice Cooker", "电饭煲", 499), ("Electric Kettle", "电水壶", 169),
        ("Air Fryer", "空气炸锅", 399), ("Chef's Knife", "主厨刀", 269),
        ("Coffee Grinder", "咖啡磨豆机", 329), ("Non-Stick Pan", "不粘锅", 219),
    ],
    "fashion": [
        ("Down Jacket", "羽绒服", 899), ("Running Shoes", "跑步鞋", 599),
        ("Cotton T-Shirt", "纯棉T恤", 99), ("Denim Jeans", "牛仔裤", 299),
        ("Leather Backpack", "真皮双肩包", 699), ("Wool Scarf", "羊毛围巾", 199),
    ],
    "beauty": [
        ("Moisturising Cream", "保湿面霜", 239), ("Sunscreen SPF50", "防晒霜 SPF50", 149),
        ("Facial Cleanser", "洁面乳", 89), ("Hair Dryer", "吹风机", 499),
        ("Lipstick", "口红", 189),
    ],
    "sports": [
        ("Yoga Mat", "瑜伽垫", 159), ("Adjustable Dumbbells", "可调节哑铃", 899),
        ("Fitness Tracker", "运动手环", 299), ("Cycling Helmet", "骑行头盔", 349),
        ("Badminton Racket", "羽毛球拍", 259),
    ],
    "books": [
        ("Cookbook", "菜谱", 69), ("Science Fiction Novel", "科幻小说", 49),
        ("Children's Picture Book", "儿童绘本", 39),
        ("Language Learning Guide", "语言学习指南", 59),
    ],
    "toys": [
        ("Building Blocks Set", "积木套装", 299), ("Remote Control Car", "遥控车", 259),
        ("Plush Panda", "熊猫毛绒玩具", 79), ("Jigsaw Puzzle 1000 pcs", "1000片拼图", 69),
    ],
}

BRANDS: dict[str, list[str]] = {
    "electronics": ["Sonora", "Voltix", "Lumio", "Kestrel"],
    "home": ["Nestwell", "Aurelia", "Homely"],
    "kitchen": ["Cucina", "Ferro", "Mingzao"],
    "fashion": ["Northpeak", "Linen & Co", "Urbane"],
    "beauty": ["Petala", "Lumiere", "Qingyan"],
    "sports": ["Stride", "Apex", "Tiyu"],
    "books": ["Inkwell Press", "Bamboo Books"],
    "toys": ["Playfox", "Tinker", "Xiaoxiong"],
}

# adjective (en, zh) pairs used to make product names distinct
VARIANTS: list[tuple[str, str]] = [
    ("Classic", "经典款"), ("Pro", "专业版"), ("Lite", "轻享版"), ("Max", "旗舰版"),
    ("Mini", "迷你款"), ("Plus", "升级版"), ("Eco", "环保款"), ("Travel", "便携款"),
]

COLOURS: list[tuple[str, str]] = [
    ("black", "黑色"), ("white", "白色"), ("blue", "蓝色"), ("grey", "灰色"),
    ("green", "绿色"), ("red", "红色"),
]

CARRIERS = ["SF Express", "JD Logistics", "ZTO Express", "YTO Express", "DHL", "UPS"]

TICKET_SUBJECTS: list[tuple[str, str]] = [
    ("Item arrived damaged", "商品到货破损"), ("Refund not received", "未收到退款"),
    ("Wrong item delivered", "发错货"), ("Delivery is late", "物流延误"),
    ("Invoice request", "申请开发票"), ("Warranty repair", "保修维修"),
    ("Cannot log in", "无法登录"), ("Charged twice", "重复扣款"),
]
