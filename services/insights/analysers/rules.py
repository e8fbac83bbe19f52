"""The embedded analyser's knowledge: the support taxonomy and what phrases reveal about a customer.

Patterns are matched case-insensitively. Taxonomy terms and support actions cover English, Spanish,
French and Arabic; profile rules are English, and say nothing rather than something wrong about
other languages.
"""

import re
from dataclasses import dataclass


def _words(*alternatives: str) -> re.Pattern[str]:
    # Latin-script terms match whole words. Arabic ones too, with the conjunction, preposition
    # and article Arabic attaches in front and the possessive endings it attaches behind.
    latin = [a for a in alternatives if not _is_arabic(a)]
    arabic = [a for a in alternatives if _is_arabic(a)]
    parts = []
    if latin:
        parts.append(r"(?<![\w])(?:" + "|".join(latin) + r")(?![\w])")
    if arabic:
        parts.append(_ARABIC_BEFORE + "(?:" + "|".join(map(_arabic_spellings, arabic)) + ")" + _ARABIC_AFTER)
    return re.compile("|".join(parts), re.IGNORECASE)


_ARABIC_BEFORE = "(?<![\u0621-\u064a\u0671-\u06d3])(?:[وف]?[بلك]?(?:ال|لل)?)"
_ARABIC_AFTER = "(?:ي|ك|ه|ها|نا|كم|هم|ات|ين)?(?![\u0621-\u064a\u0671-\u06d3])"


def _arabic_spellings(term: str) -> str:
    # Customers write alef with or without its hamza, and a final ة or ى as ه or ي.
    return re.sub("ه(?=$| )", "[هة]", re.sub("[اأإآ]", "[اأإآ]", term)).replace("ي ", "[يى] ")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a text block."""
    return frozenset(text.split())


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


# Support taxonomy: topic → terms that point at it.
TAXONOMY: dict[str, re.Pattern[str]] = {
    "orders": _words(
        r"orders?",
        r"ordered",
        r"ordering",
        r"purchased?",
        r"#\d{3,}",
        r"order \d{3,}",
        r"pedidos?",
        r"compras?",
        r"commandes?",
        r"commandé",
        r"طلب",
        r"طلبي",
        r"الطلبيه",
        r"طلبيه",
    ),
    "shipping": _words(
        r"ship(?:s|ped|ping)?",
        r"deliver(?:y|ed|ies)?",
        r"arrived",
        r"arrival",
        r"hasn't arrived",
        r"courier",
        r"carrier",
        r"tracking",
        r"parcel",
        r"package",
        r"dispatch(?:ed)?",
        r"express",
        r"dhl",
        r"ups",
        r"fedex",
        r"postage",
        r"env[íi]os?",
        r"entregad[oa]",
        r"entrega",
        r"paquete",
        r"llegad[oa]",
        r"lleg[óo]",
        r"llegar",
        r"repartidor(?:es)?",
        r"mensajer[íi]a",
        r"seguimiento",
        r"livr(?:aison|ez|er|é|ée|eurs?|ons)",
        r"colis",
        r"expédi(?:tion|é|ée)",
        r"transporteur",
        r"suivi",
        r"شحن",
        r"الشحنه",
        r"شحنه",
        r"توصيل",
        r"توصلون",
        r"يوصل",
        r"وصل",
        r"المندوب",
        r"التتبع",
        r"التسليم",
    ),
    "refunds": _words(
        r"refund(?:s|ed|ing)?",
        r"money back",
        r"reimburse(?:d|ment)?",
        r"reembols(?:o|os|ar|ado|ada)",
        r"devuelvan el dinero",
        r"rembours(?:ement|er|ez|é)",
        r"استرداد",
        r"استرجاع",
        r"فلوسي",
    ),
    "returns": _words(
        r"return(?:s|ed|ing)?",
        r"sen[dt] (?:it |them )?back",
        r"exchange",
        r"replacement",
        r"devolver",
        r"devolv[íi]",
        r"devoluci[óo]n",
        r"cambiar la talla",
        r"retour(?:ner)?",
        r"renvoy[ée]",
        r"échange",
        r"أرجعت",
        r"رجعت",
        r"إرجاع",
        r"ارجاع",
        r"الإرجاع",
        r"نبدله",
        r"تبديل",
    ),
    "pricing": _words(
        r"prices?",
        r"pricing",
        r"costs?",
        r"discounts?",
        r"coupons?",
        r"vouchers?",
        r"promo",
        r"deal",
        r"expensive",
        r"cheap(?:er)?",
        r"how much",
        r"precios?",
        r"descuentos?",
        r"cup[óo]n",
        r"cu[áa]nto cuesta",
        r"cuesta",
        r"rebajad[oa]s?",
        r"prix",
        r"r[ée]duction",
        r"code promo",
        r"combien",
        r"sold[ée]s",
        r"tarif",
        r"سعر",
        r"السعر",
        r"خصم",
        r"كود",
        r"المخفضه",
        r"كم سعر",
    ),
    "payments": _words(
        r"payments?",
        r"paid",
        r"pay",
        r"charged?",
        r"charges",
        r"credit card",
        r"debit card",
        r"card",
        r"invoices?",
        r"billing",
        r"receipts?",
        r"vat",
        r"pagos?",
        r"pagar",
        r"cobrad[oa]",
        r"cobro",
        r"cobrando",
        r"cargos?",
        r"facturas?",
        r"paiement",
        r"payer",
        r"débit[ée]",
        r"prélev(?:er|é|ement|ements)",
        r"factures?",
        r"دفع",
        r"الدفع",
        r"أدفع",
        r"فاتوره",
        r"الفاتوره",
        r"اتخصم",
        r"تسحبون",
        r"سحب",
    ),
    "account": _words(
        r"account",
        r"log ?in",
        r"sign ?in",
        r"password",
        r"username",
        r"two-factor",
        r"2fa",
        r"cuenta",
        r"contraseña",
        r"entrar en mi cuenta",
        r"compte",
        r"mot de passe",
        r"me connecter",
        r"حساب",
        r"حسابي",
        r"كلمه المرور",
        r"كلمة المرور",
    ),
    "technical issue": _words(
        r"app",
        r"crash(?:es|ed|ing)?",
        r"bug",
        r"errors?",
        r"glitch",
        r"website",
        r"checkout page",
        r"won't load",
        r"not loading",
        r"update",
        r"reinstall(?:ed)?",
        r"la app",
        r"se cierra",
        r"reinstal[ée]",
        r"application",
        r"plante",
        r"réinstallé",
        r"التطبيق",
        r"يقفل",
        r"خطأ",
    ),
    "product information": _words(
        r"sizes?",
        r"fit",
        r"colou?rs?",
        r"material",
        r"made of",
        r"in stock",
        r"available",
        r"availability",
        r"dimensions",
        r"come in",
        r"difference between",
        r"tallas?",
        r"disponible",
        r"stock",
        r"de qu[ée] material",
        r"compartimento",
        r"tailles?",
        r"taillent",
        r"pointures?",
        r"en stock",
        r"existent",
        r"مقاس",
        r"المقاس",
        r"بمقاس",
        r"متوفر",
        r"متوفره",
        r"يتوفر",
        r"القماش",
    ),
    "product quality": _words(
        r"broken",
        r"broke",
        r"damaged?",
        r"defective",
        r"faulty",
        r"smashed",
        r"crushed",
        r"stopped working",
        r"poor quality",
        r"rot[oa]",
        r"dañad[oa]",
        r"defectuos[oa]",
        r"cass[ée]e?",
        r"abîmée?",
        r"défectueu(?:x|se)",
        r"مكسور",
        r"مكسوره",
        r"خربان",
    ),
    "cancellation": _words(
        r"cancel(?:led|ling|lation)?",
        r"cancelar",
        r"cancel[ée]",
        r"annuler",
        r"résili(?:er|é|e|ation)",
        r"إلغاء",
        r"الغاء",
        r"ألغي",
        r"ألغيت",
    ),
    "subscription": _words(
        r"subscri(?:ption|bed?)",
        r"membership",
        r"renewal",
        r"suscripci[óo]n",
        r"abonnement",
        r"اشتراك",
        r"الاشتراك",
    ),
}

# Taxonomy topics that also say what the customer cares about (the AI profile's interests).
INTERESTS: dict[str, str] = {
    "pricing": "Prices and discounts",
    "shipping": "Delivery times and options",
    "product information": "Product details (sizes, fit, materials)",
    "subscription": "Subscriptions",
}

PLATFORM_NAMES = {"whatsapp": "WhatsApp", "instagram": "Instagram", "web": "the web chat"}

# Words that say nothing about what a conversation is about, whatever the keyword scorer thinks.
GENERIC_WORDS = word_set(
    """
    hi hello hey thanks thank thx please ok okay yes no yeah sure good great perfect fine
    help anything something nothing someone nobody today yesterday tomorrow week weeks day days
    time times month months year years morning tonight idea way thing things lot bit tbh
    really actually honestly still already also just get got need want know think told tell
    sorry wait guys buy bought back open log make made take send sent come see look use work try
    keep give call pay put let say said ask asked left like maybe even much many more less last
    next first second third new old same other right wrong ordered arrived received supposed
    monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    street road avenue apartment flat lane
    service customer support experience money reply answer question issue problem quick fast
    earlier later soon leave forget difference regular sale unbelievable ridiculous seriously
    hola gracias buenos buenas bonjour merci salut bonsoir super مرحبا شكرا حسنا السلام
    """
)

# A message that is only courtesy: it closes the conversation more than it judges it.
COURTESY = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|sure|alright|fine|got it|great|perfect|cool|noted|received|"
    r"thanks?(?: you)?(?: so much| a lot| very much)?|thx|ty|cheers|bye|goodbye|have a nice day)"
    r"[\s,.!:;)]*)+\W*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ProfileRule:
    """A fact about the customer, stated when their own messages match `pattern`."""

    section: str
    text: str
    pattern: re.Pattern[str]


def _rule(section: str, text: str, pattern: str) -> ProfileRule:
    return ProfileRule(section, text, re.compile(pattern, re.IGNORECASE))


PROFILE_RULES: tuple[ProfileRule, ...] = (
    _rule(
        "communication_preferences",
        "Prefers talking to a human agent",
        r"\b(?:speak|talk|chat) (?:to|with) (?:a |an |the )?(?:human|person|real person|agent|manager|"
        r"supervisor|someone)\b|\breal person\b",
    ),
    _rule(
        "communication_preferences",
        "Wants updates by email",
        r"\b(?:email|e-mail) me\b|\bsend (?:it|them|me \w+) (?:to|by) (?:my )?e-?mail\b",
    ),
    _rule(
        "communication_preferences",
        "Prefers a phone call",
        r"\b(?:call me|phone me|give me a call|ring me)\b",
    ),
    _rule(
        "purchase_behavior",
        "Buys in bulk",
        r"\b(?:buy|order|need|get)\w* (?:[1-9]\d{1,2}(?!\d)|a dozen|dozens)"
        r"(?: of| units| pieces| boxes| \w+s\b)|\bwholesale\b|\bin bulk\b",
    ),
    _rule(
        "purchase_behavior",
        "Buys for a business",
        r"\b(?:my|our) (?:restaurant|company|company's|business|shop|store|office|café|cafe|team)\b",
    ),
    _rule("purchase_behavior", "Buys gifts", r"\b(?:gift|present|birthday|anniversary|christmas)\b"),
    _rule(
        "purchase_behavior",
        "Asks about discounts and deals",
        r"\b(?:discount|coupon|promo|voucher|deal|cheaper|code)s?\b",
    ),
    _rule("purchase_behavior", "Has a subscription", r"\b(?:my|the) (?:\w+ )?subscription\b"),
    _rule(
        "purchase_behavior",
        "Has returned items",
        r"\b(?:returned|sent (?:it |them )?back|send (?:it |them )?back|return label)\b",
    ),
    _rule("purchase_behavior", "Has asked for a refund", r"\b(?:refund|money back)\b"),
    _rule(
        "purchase_behavior",
        "Pays for faster delivery",
        r"\b(?:express|next[- ]day|faster|fast) (?:shipping|delivery)\b|\bupgrade to express\b",
    ),
    _rule(
        "purchase_behavior",
        "Buys once questions are answered",
        r"\b(?:ordering|order(?:ing)? (?:it |one )?now|place the order|i'll (?:order|buy|take)|"
        r"buying (?:it|one|now)|passe commande)\b",
    ),
    _rule(
        "purchase_behavior",
        "Price-sensitive",
        r"\b(?:too expensive|can't afford|cannot afford|cheaper|price (?:went|go(?:es)?) up|"
        r"overpriced)\b",
    ),
    _rule(
        "purchase_behavior",
        "Long-standing customer",
        r"\b(?:customer|client|member) for (?:\w+ )?(?:years?|months)\b|\bloyal customer\b|"
        r"\balways (?:buy|order)\b",
    ),
    _rule(
        "key_characteristics",
        "Gives precise details (order numbers, versions, addresses)",
        r"#\d{3,}|\border (?:number )?\d{3,}|\bversion \d|\b\d+\.\d+\.\d+\b|\bstreet\b|\bavenue\b",
    ),
    _rule(
        "key_characteristics",
        "Has had repeated problems",
        r"\b(?:second time|third time|once again|(?:happened|happening|charged me|broken|late|wrong) again|"
        r"last week too|already told|every time|keeps \w+ing)\b",
    ),
    _rule(
        "key_characteristics",
        "At risk of leaving",
        r"\b(?:never (?:buy|order|shop)\w* (?:from|with) you|i'm cancelling|i'll (?:probably )?cancel|"
        r"want my money back|take my business|switch(?:ing)? to)\b",
    ),
    _rule(
        "key_characteristics",
        "Time-sensitive",
        r"\b(?:asap|urgent(?:ly)?|right now|need (?:it|that|this|the \w+|my \w+)(?: \w+)? "
        r"(?:now|today|before|by)\b)",
    ),
    _rule(
        "key_characteristics",
        "Enthusiastic about the brand",
        r"\b(?:i love|love your|you guys are the best|big fan|obsessed|amazing)\b",
    ),
    _rule("key_characteristics", "Polite", r"\b(?:please|thank you|thanks|appreciate)\b"),
)


# --- summaries ------------------------------------------------------------------------------------
# A summary says in the third person what the customer wanted and what support did; nothing a
# customer wrote is copied into it beyond an order number and a product's name.

# How a summary names each taxonomy topic (what the customer asked about or had trouble with).
TOPIC_PHRASES: dict[str, str] = {
    "orders": "an order",
    "shipping": "a delivery",
    "refunds": "a refund",
    "returns": "a return",
    "pricing": "pricing",
    "payments": "a payment",
    "account": "their account",
    "technical issue": "a technical problem",
    "product information": "product details",
    "product quality": "a damaged or faulty item",
    "cancellation": "a cancellation",
    "subscription": "their subscription",
}

# Topics whose phrase names a problem by itself ("reported a technical problem").
PROBLEM_TOPICS = frozenset({"technical issue", "product quality"})

# What support did, most telling first, each recognised in the support messages of any language.
SUPPORT_ACTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "declined the request",
        _words(
            r"unfortunately",
            r"can't refund",
            r"cannot refund",
            r"outside (?:our|the) \d+-day",
            r"no podemos",
            r"lamentablemente",
            r"malheureusement",
            r"nous ne pouvons pas",
            r"لا يمكننا",
            r"للأسف لا",
        ),
    ),
    (
        "refunded the customer",
        _words(
            r"refunded",
            r"refund (?:has been|was|is being) (?:issued|processed|sent)",
            r"reembolsado",
            r"devuelto los gastos",
            r"remboursé",
            r"avons remboursé",
            r"تم استرداد",
            r"استردينا",
        ),
    ),
    (
        "sent a replacement",
        _words(
            r"sending (?:you )?(?:a|the) (?:new|replacement|\w+ one)",
            r"send(?:ing)? you a (?:new|replacement)",
            r"replacement (?:is|has been) (?:on its way|sent)",
            r"le enviamos (?:hoy )?(?:la|el|una|un)",
            r"le envío (?:hoy )?(?:la|el|una|un)",
            r"je vous envoie une? \w+ neuve?",
            r"nous vous envoyons",
            r"سنرسل لك",
            r"نبدله",
        ),
    ),
    (
        "cancelled the subscription",
        _words(
            r"cancelled the subscription",
            r"subscription (?:is|has been) cancelled",
            r"suscripción ya está cancelada",
            r"abonnement est résilié",
            r"إلغاء الاشتراك",
        ),
    ),
    (
        "offered a discount",
        _words(
            r"(?:use|apply) (?:the )?code",
            r"coupon",
            r"\d+ ?% (?:off|de descuento|de réduction)",
            r"cupón",
            r"code promo",
            r"خصم \d+",
            r"الكود",
        ),
    ),
    (
        "offered an alternative",
        _words(
            r"i can offer",
            r"we can offer",
            r"i can move you",
            r"puedo pasarla",
            r"puedo pasarlo",
            r"je peux vous proposer",
            r"يمكننا تحويلك",
        ),
    ),
    (
        "opened an investigation with the carrier",
        _words(
            r"investigation",
            r"opened a claim",
            r"reclamación",
            r"enquête",
            r"réclamation",
            r"بلاغ",
            r"شكوى",
        ),
    ),
    (
        "sent a password reset link",
        _words(
            r"reset link",
            r"password reset",
            r"enlace para desbloquear",
            r"lien de réinitialisation",
            r"رابط إعادة تعيين",
        ),
    ),
    (
        "updated the order",
        _words(
            r"(?:i've|i have|we've|we have) (?:updated|changed)",
            r"address (?:is|has been) updated",
            r"se entregará en",
            r"c'est modifié",
            r"تم تحديث",
        ),
    ),
    (
        "sent the invoice",
        _words(
            r"invoice (?:is|has been) (?:on its way|sent)",
            r"sent (?:you )?the invoice",
            r"enviada",
            r"c'est envoyé",
            r"تم إرسال الفاتورة",
        ),
    ),
    (
        "passed the case to another team",
        _words(
            r"escalated",
            r"passed (?:your case|it) (?:on )?to",
            r"pasado su caso",
            r"transmis votre dossier",
            r"تم تحويل طلبك",
        ),
    ),
    (
        "confirmed a known bug",
        _words(r"known (?:bug|issue)", r"error conocido", r"bug connu", r"خطأ معروف"),
    ),
    (
        "added gift wrapping",
        _words(r"gift[- ]wrap\w*", r"envolvemos", r"emballage cadeau", r"منغلفه", r"نغلفه"),
    ),
    (
        "confirmed availability",
        _words(
            r"(?:is|are) (?:in stock|available)",
            r"est[áa] disponible",
            r"existent en",
            r"réassort",
            r"reponerla",
            r"نعم، متوفره",
            r"متوفره بمقاس",
            r"نتوقع وصولها",
        ),
    ),
    (
        "advised on sizing",
        _words(
            r"fits? (?:true to size|small|large)",
            r"runs? (?:small|large)",
            r"talla normal",
            r"taillent normalement",
        ),
    ),
    (
        "gave the prices",
        _words(
            r"costs? \$?\d+",
            r"cuesta \d+",
            r"coûte \d+",
            r"pour \d+ ?€",
            r"بسعر \d+",
            r"\d+ (?:دينار|دنانير|ريال|درهم)",
        ),
    ),
    (
        "gave a delivery estimate",
        _words(
            r"(?:is |are )?expected (?:on|by|within)",
            r"will arrive",
            r"should arrive",
            r"arrives? (?:on|by|within|in)",
            r"debería llegar",
            r"llega en",
            r"arrive en",
            r"sera livrée?",
            r"سيتم التوصيل",
            r"يصل خلال",
        ),
    ),
)

# Words of a customer's opening message that report a problem rather than ask a question.
PROBLEM_CUES = _words(
    r"can't",
    r"cannot",
    r"won't",
    r"didn't",
    r"hasn't",
    r"haven't",
    r"not working",
    r"stopped working",
    r"broken",
    r"broke",
    r"damaged",
    r"wrong",
    r"twice",
    r"still",
    r"no puedo",
    r"no funciona",
    r"no ha llegado",
    r"todavía no",
    r"sigue sin",
    r"roto",
    r"dos veces",
    r"n'arrive pas",
    r"ne marche pas",
    r"toujours pas",
    r"cassée?",
    r"deux fois",
    r"plante",
    r"ما أقدر",
    r"ما وصل",
    r"لم يصل",
    r"مكسور",
    r"مرتين",
    r"يقفل",
)

# An order number as customers and agents write it.
ORDER_NUMBER = re.compile(
    r"#(\d{3,})|(?:order|pedido|commande|الطلب|طلبي|طلب)\s+(?:(?:number|no\.?|nº|n°|رقم)\s*)?#?(\d{4,})",
    re.IGNORECASE,
)

# Single words that never make a topic by themselves: feelings, sizes, colours, verbs of support chats.
NOT_TOPICS = word_set(
    """
    late early big small large huge tiny wrong right hard soft easy nice bad good quick slow cheap
    expensive free extra full half whole new old little long short high low fine okay slim loose
    tight black white navy blue green red yellow pink purple grey gray brown beige rust orange gold
    silver dark light offer box boxes change changes item items pays version repair cost costs
    birthday talk chat message messages call order orders delivery refund return payment account
    price prices thing stuff place places use using code codes arrive arrives come send deliver want need
    gris verde verdes negro negra negros negras azul rojo roja blanco blanca rouge bleu vert verte
    noir noire blanc blanche marron
    """
)


def filler_topic(topic: str) -> bool:
    """Whether a topic says nothing: a filler, an adjective or a verb alone, or a number.

    The support taxonomy's own labels (and "complaints") are topics by definition.
    """
    if topic in TAXONOMY or topic == "complaints":
        return False
    words = topic.split()
    return (
        not words
        or words[-1] in NOT_TOPICS
        or (len(words) == 1 and words[0] in GENERIC_WORDS)
        or any(ch.isdigit() for ch in topic)
    )
