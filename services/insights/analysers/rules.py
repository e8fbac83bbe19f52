"""The embedded analyser's knowledge: the support taxonomy and what phrases reveal about a customer.

Patterns are matched case-insensitively. Taxonomy terms include a few Spanish, French and Arabic
words so conversations in those languages still get their support topics; profile rules are
English, and say nothing rather than something wrong about other languages.
"""

import re
from dataclasses import dataclass


def _words(*alternatives: str) -> re.Pattern[str]:
    # Latin-script terms match whole words; Arabic ones as substrings, as they take attached prefixes.
    latin = [a for a in alternatives if not _is_arabic(a)]
    arabic = [a for a in alternatives if _is_arabic(a)]
    parts = []
    if latin:
        parts.append(r"(?<![\w])(?:" + "|".join(latin) + r")(?![\w])")
    if arabic:
        parts.append("(?:" + "|".join(arabic) + ")")
    return re.compile("|".join(parts), re.IGNORECASE)


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
        r"طلبي",
        r"الطلب",
        r"طلب",
    ),
    "shipping": _words(
        r"ship(?:s|ped|ping)?",
        r"deliver(?:y|ed|ies)?",
        r"arrived?",
        r"arrival",
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
        r"envío",
        r"envio",
        r"entrega",
        r"paquete",
        r"llegado",
        r"livr(?:aison|ez|er|é)",
        r"colis",
        r"expédition",
        r"شحن",
        r"توصيل",
        r"الشحنة",
    ),
    "refunds": _words(
        r"refund(?:s|ed|ing)?",
        r"money back",
        r"reimburse(?:d|ment)?",
        r"reembolsos?",
        r"rembourse(?:ment|r|z)?",
        r"استرداد",
        r"استرجاع المبلغ",
    ),
    "returns": _words(
        r"return(?:s|ed|ing)?",
        r"sen[dt] (?:it |them )?back",
        r"exchange",
        r"replacement",
        r"devolver",
        r"devoluci[óo]n",
        r"retour(?:ner)?",
        r"أرجعت",
        r"إرجاع",
        r"ارجاع",
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
        r"prix",
        r"réduction",
        r"سعر",
        r"خصم",
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
        r"facturas?",
        r"paiement",
        r"factures?",
        r"دفع",
        r"فاتورة",
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
        r"compte",
        r"mot de passe",
        r"حساب",
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
        r"tailles?",
        r"مقاس",
        r"متوفر",
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
        r"dañado",
        r"cassé",
        r"مكسور",
    ),
    "cancellation": _words(
        r"cancel(?:led|ling|lation)?",
        r"cancelar",
        r"annuler",
        r"إلغاء",
    ),
    "subscription": _words(
        r"subscri(?:ption|bed?)",
        r"membership",
        r"renewal",
        r"suscripci[óo]n",
        r"abonnement",
        r"اشتراك",
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

# Sentences of an agent that say what was done or decided.
RESOLUTION_CUES = re.compile(
    r"\b(?:i've|i have|we've|we have|i'm \w+ing|we're \w+ing|i'll|we'll|has been|have been|will|"
    r"is now|are now|refunded|sent|shipped|upgraded|cancelled|canceled|processed|arranged|"
    r"escalated|opened|added|done|released|fix(?:ed)?|replac\w+|offer|can't|cannot|"
    r"unfortunately|excludes|policy|you can)\b",
    re.IGNORECASE,
)

# Support sentences that carry no content of their own.
SUPPORT_FILLER = re.compile(
    r"^\W*(?:hi|hello|hey|oh no|sorry|i'm (?:so )?sorry|we're sorry|thank you|thanks|you're welcome|"
    r"great|of course|sure|i understand|have a (?:lovely|nice|great|good) day|lo siento|gracias|"
    r"merci|bonjour|hola)\b",
    re.IGNORECASE,
)
# A filler sentence longer than this says something after its greeting or apology.
FILLER_MAX_WORDS = 7

# Sentences of a customer that state what they want or what went wrong.
REQUEST_CUES = re.compile(
    r"\?|\b(?:i want|i need|i'd like|i would like|can you|could you|can i|do you|does|is there|"
    r"where|when|why|how|what|haven't|hasn't|didn't|doesn't|can't|won't|never|still|wrong|"
    r"broken|charged|cancel)\b",
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
