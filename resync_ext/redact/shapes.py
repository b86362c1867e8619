"""Secret shapes seen around HCL Workload Automation that no generic detector knows.

Job logs echo the commands a job ran (``db2 connect ... using``, ``sqlplus user/pw@tns``,
``curl -u``, ``smbclient -U user%pass``), the files it read (XML ``<password>``, ``useropts``,
``.netrc``), and the HTTP it spoke (``Authorization: Negotiate``, WebSphere Liberty's
``LtpaToken2`` cookie, Azure SAS ``sig=``). Each rule is RE2 syntax; its capturing groups are
the secret, the rest stays readable. Rules run in this order, before detect-secrets' own.
"""

from __future__ import annotations

from detect_secrets.plugins.keyword import DENYLIST

from .engine import KEY_BEGIN, KEY_BODY, Rule

# Key words naming a secret: detect-secrets' keyword list (its KeywordDetector) plus the
# spellings of config files, Java system properties, HTTP headers and cookies.
KEY_WORDS = "|".join(
    (
        *DENYLIST,
        r"pass(?:phrase|code)",
        r"[_.-]pass",
        r"api[_-]?key",
        r"access[_-]?key",
        r"secret[_-]?key",
        r"(?:auth|access|refresh|id|bearer|session|csrf|xsrf|api|private)?[_-]?token",
        r"credentials?",
        r"session[_-]?id",
        r"storepass",
        r"keypass",
        r"signature",
        r"ltpatoken2?",
    )
)
_SEP = r"[\"']?[ \t]*(?::=|=>|[:=])[ \t]*"
# a quoted value (escapes kept inside; the engine masks inside the quotes) or a bare word
_VALUE = r"(\"(?:[^\"\\\r\n]|\\.)*\"|'(?:[^'\\\r\n]|\\.)*'|[^\s\"',;&<>]+)"
_WORD = r"[\"']?([^\s\"']+)[\"']?"
# Words that follow "password is" in prose without being one.
_PROSE = frozenset(
    b"expired expire expiring invalid incorrect wrong not missing required locked changed reset "
    b"empty set correct valid too being still now the a an in on for of stored encrypted hidden "
    b"masked unknown null none blank different mandatory accepted rejected it is are was".split()
)
# Environment dumps print PWD=<the working directory>: a path, not a password.
_PATH_START = (b"/", b"~", b"$", b".", b"\\")


def _not_a_value(match: bytes, secret: bytes) -> bool:
    if len(secret) <= 4 and secret.rstrip(b").").lower() in (b"yes", b"no"):
        return True  # MySQL's "Access denied ... (using password: YES)": whether one was given
    if secret.islower() and secret.rstrip(b".!") in _PROSE:
        return True  # "Password: expired", "needs no credentials: it is a test tool"
    path = secret[:1] in _PATH_START or secret[1:3] == b":\\"
    return path and match[:3].lower() == b"pwd"  # PWD=/home/x: the working directory


def _is_prose(match: bytes, secret: bytes) -> bool:
    return secret.lower().rstrip(b".!") in _PROSE


def _is_word(match: bytes, secret: bytes) -> bool:
    # "Basic or bearer credentials": a lower-case word, where a token mixes cases and digits
    return secret.isalpha() and secret.islower()


RULES: tuple[Rule, ...] = (
    # A private key (PEM, OpenSSH, PGP): its body up to END, or, cut off, its base64 lines.
    Rule(
        "private key",
        KEY_BEGIN + "(" + KEY_BODY + ")",
        case_insensitive=False,
    ),
    Rule(
        "PuTTY key", r"Private-Lines:[ \t]*\d+((?:\r?\n[A-Za-z0-9+/=]+)+)", case_insensitive=False
    ),
    # Authorization / Proxy-Authorization headers: whatever follows the scheme, to the quote/EOL
    Rule(
        "authorization header",
        r"\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?:(?:basic|bearer|negotiate|ntlm"
        r"|digest|token|apikey|aws4-hmac-sha256|sharedaccesssignature|hmac|mac|kerberos)[ \t]+)?"
        r"([^\"'\r\n]+)",
    ),
    Rule("bearer token", r"\bbearer[ \t]+([A-Za-z0-9._~+/=-]{8,})", keep=_is_word),
    # Session cookies: WebSphere Liberty / HWA's LTPA, Java and PHP sessions, SiteMinder
    Rule(
        "session cookie",
        r"\b(?:LtpaToken2?|JSESSIONID|PHPSESSID|SMSESSION|ASP\.NET_SessionId|\.ASPXAUTH"
        r"|connect\.sid|WASReqURL)=([^;\s\"',]+)",
    ),
    # URL userinfo: scheme://user:password@host, the password may hold "@" (the last one ends it)
    Rule("url userinfo", r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:([^\s/?#]*)@[^\s@/?#]"),
    # Oracle connect strings: user/password@tns, and sqlplus user/password without a TNS name
    Rule("oracle connect", r"\b[A-Za-z_][A-Za-z0-9_$#]*/([^\s/@\"']+)@[A-Za-z0-9_.:/-]"),
    Rule(
        "oracle tools",
        r"\b(?:sqlplus|sqlldr|expdp|impdp|exp|imp|rman|tkprof)\b(?:[ \t]+-\S+)*[ \t]+"
        r"[\"']?[A-Za-z_][A-Za-z0-9_$#]*/([^\s/@\"']+)",
    ),
    Rule("identified by", r"\bidentified[ \t]+by[ \t]+" + _WORD),
    # db2 connect to DB user U using PW [new NPW confirm NPW]
    Rule("db2 using", r"\buser[ \t]+\S+[ \t]+using[ \t]+" + _WORD),
    Rule(
        "db2 new password",
        r"\busing[ \t]+\S+[ \t]+new[ \t]+" + _WORD + r"(?:[ \t]+confirm[ \t]+" + _WORD + ")?",
    ),
    # curl -u / --user user:password (and --proxy-user); smbclient/rpcclient -U user%password
    Rule(
        "curl user",
        r"\b(?:curl|wget)\b[^\r\n]*?[ \t](?:-u|-U|--user|--proxy-user)(?:[ \t]+|=)"
        r"[\"']?[^\s:\"']*:([^\s\"']+)",
    ),
    Rule("smb user%password", r"(?:[ \t]-U|--user=|--user)[ \t]*[\"']?[^\s%\"']+%([^\s\"']+)"),
    # password flags: mysql -pPW, sshpass -p PW, plink/pscp -pw PW, sqlcmd/isql/bcp -P PW
    Rule("mysql -p", r"\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\r\n]*?[ \t]-p([^\s\"']+)"),
    Rule("sshpass -p", r"\bsshpass\b[^\r\n]*?[ \t]-p[ \t]*" + _WORD),
    Rule("-pw flag", r"[ \t]-pw[ \t]+" + _WORD),
    Rule(
        "-P flag",
        r"\b(?:sqlcmd|isql|osql|bcp|dbisql|sybase|tsql)\b[^\r\n]*?[ \t]-P[ \t]*" + _WORD,
        case_insensitive=False,
    ),
    Rule("openssl pass:", r"[ \t]-pass(?:in|out)?[ \t]+(?:pass|env):([^\s\"']+)"),
    Rule("echo | sudo -S", r"\becho[ \t]+" + _WORD + r"[ \t]*\|[ \t]*sudo[ \t]+-S"),
    # net use \\srv\share PASSWORD /user:DOM\user  (or the password after /user:)
    Rule("net use", r"\bnet[ \t]+use\b[^\r\n]*?/user:\S+[ \t]+([^\s/][^\s]*)"),
    Rule(
        "net use before user", r"\bnet[ \t]+use[ \t]+\S+[ \t]+\\\\\S+[ \t]+([^\s/]\S*)[ \t]+/user:"
    ),
    # conman altpass [ws#]user;"password"
    Rule("altpass", r"\baltpass[ \t]+[^;\s]+[ \t]*;[ \t]*" + _WORD),
    Rule("netrc", r"\bmachine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+(\S+)"),
    # XML: <password>x</password>, <ns:keyStorePassword>x</...>, name="password" value="x"
    Rule("xml element", r"<[\w:.-]*(?:" + KEY_WORDS + r")[\w.-]*(?:[ \t][^>]*)?>([^<]+)</"),
    Rule(
        "xml name/value",
        r"\bname[ \t]*=[ \t]*[\"'][^\"']*(?:" + KEY_WORDS + r")[^\"']*[\"'][ \t]+value[ \t]*="
        r"[ \t]*[\"']([^\"']*)[\"']",
    ),
    # Azure SAS tokens: the signature parameter of a query or connection string
    Rule("sas signature", r"[?&;\s]sig=([^&\s\"';]+)"),
    # ADO/ODBC/JDBC connection strings: Password=any thing, spaces too, up to the next ";"
    Rule("connection string", r"\b(?:password|pwd)[ \t]*=[ \t]*([^;\"'\r\n]+);"),
    # --password value, -password value (composer/conman/keytool/openssl style), -Dx.password=v
    Rule(
        "option",
        r"(?:^|[\s\"'(])--?(?:[\w.-]*[_.-])?(?:" + KEY_WORDS + r")(?:[ \t]+|=)" + _VALUE,
    ),
    # key=value, key: value, "key": "value", key => value
    Rule("key value", r"(?:" + KEY_WORDS + r")" + _SEP + _VALUE, keep=_not_a_value),
    # PASSWORD "x" (composer user definitions), ALTER USER x PASSWORD 'y'
    Rule("password quoted", r"\b(?:password|passwd|pwd)[ \t]+(?:\"([^\"\r\n]*)\"|'([^'\r\n]*)')"),
    # prose: "the password is hunter2", "pwd was s3cr3t!"
    Rule(
        "password is",
        r"\b(?:password|passwd|pwd|passphrase|passcode)[ \t]+(?:is|was)(?:[ \t]+set[ \t]+to)?"
        r"[ \t]+([^\s,;]+)",
        keep=_is_prose,
    ),
    # token shapes that need no key word (detect-secrets knows more: detectors.py)
    Rule("openai/anthropic key", r"\b(?:sk|pk|rk)-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}", False),
    Rule("github token", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{22,})", False),
    Rule(
        "gitlab token",
        r"\b(?:gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|oas|agent)-|GR1348941)[A-Za-z0-9_-]{20,}",
        False,
    ),
    Rule("slack token", r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,}", False),
    Rule("google api key", r"\bAIza[0-9A-Za-z_-]{35}", False),
    Rule("google oauth", r"\b(?:ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{20,})", False),
    Rule(
        "stripe key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|\bwhsec_[0-9A-Za-z]{24,}", False
    ),
    Rule(
        "aws key id",
        r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b",
        False,
    ),
    Rule("vault/npm token", r"\b(?:hvs\.[A-Za-z0-9_-]{24,}|npm_[A-Za-z0-9]{36})", False),
    Rule("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", False),
)
