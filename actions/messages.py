"""Texts the actions compose, in English and Chinese."""

from __future__ import annotations

ORDER_STATUS = {
    "placed": {"en": "placed", "zh": "已下单"}, "paid": {"en": "paid, waiting to ship", "zh": "已付款，待发货"},
    "shipped": {"en": "shipped", "zh": "已发货"}, "delivered": {"en": "delivered", "zh": "已签收"},
    "cancelled": {"en": "cancelled", "zh": "已取消"}, "returned": {"en": "returned", "zh": "已退货"},
}
SHIPMENT_STATUS = {
    "pending": {"en": "waiting for pick-up", "zh": "等待揽收"},
    "in_transit": {"en": "in transit", "zh": "运输中"},
    "out_for_delivery": {"en": "out for delivery", "zh": "派送中"},
    "delivered": {"en": "delivered", "zh": "已签收"},
    "exception": {"en": "held up (delivery exception)", "zh": "物流异常"},
    "cancelled": {"en": "cancelled", "zh": "已取消"},
}

ORDER_HEADLINE = {
    "en": "Order {id} ({date}): {status}. Items: {items}. Total ¥{total}.",
    "zh": "订单 {id}（{date}下单）：{status}。商品：{items}。合计 ¥{total}。",
}
SHIPMENT_LINE = {
    "en": "Shipment with {carrier}, tracking number {tracking}: {status}{when}.",
    "zh": "承运商 {carrier}，运单号 {tracking}：{status}{when}。",
}
DELIVERED_ON = {"en": " on {date}", "zh": "（{date}）"}
EXPECTED_ON = {"en": ", expected by {date}", "zh": "，预计 {date} 送达"}
EXCEPTION_HINT = {
    "en": "The carrier reported a problem with this parcel. Would you like me to connect you with a colleague who can chase it?",
    "zh": "承运商反馈该包裹出现异常，需要为您转接人工客服跟进吗？",
}
RECENT_ORDERS = {"en": "Your other recent orders: {orders}.", "zh": "您最近的其他订单：{orders}。"}
OPEN_TICKETS = {"en": "Open requests: {tickets}.", "zh": "处理中的工单：{tickets}。"}
VERIFY_FAILED = {
    "en": "Sorry, that order number and email/phone don't match our records. Let's try again.",
    "zh": "抱歉，订单号与邮箱/手机号不匹配，请重新输入。",
}
BAD_ORDER_ID = {
    "en": "That doesn't look like an order number: it has 6 digits, for example 104233.",
    "zh": "这似乎不是有效的订单号，订单号为6位数字，例如 104233。",
}
NOT_YOUR_ORDER = {
    "en": "I can't find order {id} on your account. Please check the number.",
    "zh": "您的账户下没有找到订单 {id}，请核对订单号。",
}
VERIFIED = {"en": "Thanks, {name}, you're verified.", "zh": "{name}，身份验证成功。"}
CANCEL_OUTCOME = {
    "cancelled": {"en": "Done: order {id} is cancelled. The refund goes back to your original payment method within 3–5 business days.",
                  "zh": "已为您取消订单 {id}，款项将在3–5个工作日内原路退回。"},
    "already_cancelled": {"en": "Order {id} is already cancelled.", "zh": "订单 {id} 已经是取消状态。"},
    "shipped": {"en": "Order {id} has already shipped, so it can't be cancelled now. Once it arrives you can return it within 7 days (30 days internationally) for a full refund.",
                "zh": "订单 {id} 已发货，暂时无法取消。签收后7天内（国际订单30天）可申请退货并全额退款。"},
    "delivered": {"en": "Order {id} has been delivered, so it can't be cancelled; you can return it instead under My Orders → Return.",
                  "zh": "订单 {id} 已签收，无法取消，您可以在“我的订单 → 申请退货”中办理退货。"},
    "returned": {"en": "Order {id} has already been returned.", "zh": "订单 {id} 已办理退货。"},
    "not_found": {"en": "I can't find order {id} on your account.", "zh": "您的账户下没有找到订单 {id}。"},
}
ADDRESS_CHANGE = {
    "open": {"en": "Order {id} hasn't shipped yet, so the address can still be changed. I'm passing you to a colleague who will update it with you.",
             "zh": "订单 {id} 尚未发货，还可以修改地址，正在为您转接人工客服协助修改。"},
    "closed": {"en": "Order {id} has already shipped ({status}), so the address can't be changed any more. You can ask the carrier to redirect it with tracking number {tracking}.",
               "zh": "订单 {id} 已发货（{status}），无法再修改地址。您可以凭运单号 {tracking} 联系快递改派。"},
}
HANDOFF = {
    "en": "I'm connecting you with a person from our team. They'll see this conversation, so you won't need to repeat yourself.",
    "zh": "正在为您转接人工客服，客服会看到之前的对话记录，您无需重复描述。",
}
FALLBACK_OFFER = {
    "en": "Sorry, I'm still not sure what you mean. Would you like to talk to a person?",
    "zh": "抱歉，我还是没有理解您的意思。需要为您转接人工客服吗？",
}
HUMAN_BUTTON = {"en": "Talk to a person", "zh": "转人工"}
RECOMMEND_INTRO = {
    "en": "Here are some popular picks{scope} that are in stock:",
    "zh": "为您推荐以下有货的热门商品{scope}：",
}
RECOMMEND_SCOPE = {"en": " in {category}", "zh": "（{category}类）"}
RECOMMEND_LINE = {"en": "• {name} — ¥{price}", "zh": "• {name} — ¥{price}"}
RECOMMEND_REASON = {"en": "popular with customers", "zh": "热销商品"}
RECOMMEND_NONE = {
    "en": "I couldn't find anything in stock that fits right now. A colleague can help you choose.",
    "zh": "暂时没有找到合适的有货商品，可以转人工客服帮您挑选。",
}
KB_SOURCE = {"en": "Source: [{title}]({url})", "zh": "来源：[{title}]({url})"}
KB_NO_ANSWER = {
    "en": "I couldn't find an answer to that in our help centre, and I'd rather not guess. Would you like me to connect you with a person?",
    "zh": "抱歉，帮助中心里没有找到这个问题的答案，我不想乱说。需要为您转接人工客服吗？",
}
REASON_BOUGHT_TOGETHER = {"en": "often bought with your {product}", "zh": "常与您买过的{product}一起购买"}
REASON_SIMILAR = {"en": "similar to your {product}", "zh": "与您买过的{product}相似"}
CHOOSE_WHICH = {"en": "Which product do you mean? You can pick one of the buttons or say \"the first one\".", "zh": "请问您指的是哪一款？可以点选按钮，或者说“第一个”。"}
PRODUCT_DETAILS = {"en": "{name} — ¥{price}. {description} {stock} Anything else I can help with?", "zh": "{name}，¥{price}。{description}{stock}还有什么可以帮您的吗？"}
IN_STOCK = {"en": "In stock ({n} available).", "zh": "现货（库存{n}件）。"}
OUT_OF_STOCK = {"en": "Currently out of stock.", "zh": "目前缺货。"}
