"""The masking service against a corpus of secret shapes (0 leaks) and of ordinary job-log lines
(0 masked): the shapes a review found unmasked (CLI flags, db2 ``using``, XML, URL userinfo with
"@", LtpaToken2, Azure, cloud tokens, Negotiate, cut-off PEM and PGP keys) and many more."""

from __future__ import annotations

import pytest

from resync_ext.redact import mask_secrets

PEM = "MIIEowIBAAKCAQEA7Zq1x9aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefghij"
# (text, secret): after masking the secret is gone and the words around it stay.
SHAPES: list[tuple[str, str]] = [
    ("my password is hunter22 today", "hunter22"),
    ("the pwd was s3cr3t! ok", "s3cr3t!"),
    ("run --password pw123 --user x", "pw123"),
    ("export DB_PASSWORD=s3cret! now", "s3cret!"),
    ("set PGPASSWORD=Pg_Pass-9 before psql", "Pg_Pass-9"),
    ('config {"password": "two words"} loaded', "two words"),
    ("yaml password: Yml-Secret9 read", "Yml-Secret9"),
    ("api_key=AbCdEf123456 sent", "AbCdEf123456"),
    ("X-API-Key: k3y-V4lue-77 header", "k3y-V4lue-77"),
    ("client_secret=cs_9f8e7d6c5b4a done", "cs_9f8e7d6c5b4a"),
    ("java -Djavax.net.ssl.keyStorePassword=changeit9 -jar x", "changeit9"),
    ("props db.pass=Db9Pass read", "Db9Pass"),
    ('useropts PASSWORD = "ENCRYPT:AbC123==" end', "ENCRYPT:AbC123=="),
    ("connect scott/tiger9@PROD ok", "tiger9"),
    ("sqlplus -s payroll/Pay_2024 @script.sql", "Pay_2024"),
    ("sqlplus payroll/Pay_2025@PAYDB as sysdba", "Pay_2025"),
    ("ALTER USER app IDENTIFIED BY Orcl_Pw1 ACCOUNT UNLOCK", "Orcl_Pw1"),
    ("db2 connect to PAYDB user db2inst1 using Db2Secret1", "Db2Secret1"),
    ("db2 connect to PAYDB user db2inst1 using 'Db2Quoted2' done", "Db2Quoted2"),
    ("db2 connect to X user u using Old1 new NewPw2 confirm NewPw2", "NewPw2"),
    ("postgres://app:hunter2@db:5432/x", "hunter2"),
    ("ftp://ops:p@ss@word@files.example.com/in", "p@ss@word"),
    ("redis://:R3dis-Pw@cache:6379/0 up", "R3dis-Pw"),
    ("mongodb+srv://svc:M0ngo%21pw@cluster0.example.net/db", "M0ngo%21pw"),
    ("curl -u admin:Curl-Pw1 https://host/api", "Curl-Pw1"),
    ("curl -sS --user svc:Curl-Pw2 https://host/api", "Curl-Pw2"),
    ("smbclient //srv/share -U ops%Smb-Pw1 -c ls", "Smb-Pw1"),
    ("smbclient //srv/share -U 'CORP\\ops%Smb-Pw2' -c ls", "Smb-Pw2"),
    ("mysql -uroot -pMy-Sql-Pw db", "My-Sql-Pw"),
    ("sshpass -p 'SshP4ss' ssh host", "SshP4ss"),
    ("plink -ssh host -l ops -pw Plink-Pw9 cmd", "Plink-Pw9"),
    ("sqlcmd -S srv -U sa -P SqlCmd-Pw1 -Q x", "SqlCmd-Pw1"),
    ("echo Sudo-Pw1 | sudo -S systemctl restart x", "Sudo-Pw1"),
    ("net use Z: \\\\srv\\share NetUse-Pw1 /user:CORP\\ops", "NetUse-Pw1"),
    ("composer -username twsadm -password Tws-Pw-1 display", "Tws-Pw-1"),
    ("conman -user twsadm -password Tws-Pw-2 sc", "Tws-Pw-2"),
    ("keytool -list -keystore k.jks -storepass Store-Pw1", "Store-Pw1"),
    ("openssl pkcs12 -in a.p12 -passin pass:P12-Pw1 -nodes", "P12-Pw1"),
    ('conman altpass MYWS#jdoe;"Alt-Pw1"', "Alt-Pw1"),
    ("machine ftp.example.com login ops password Netrc-Pw1", "Netrc-Pw1"),
    ("<password>Xml-Pw1</password> in file", "Xml-Pw1"),
    ("<ns2:keyStorePassword>Xml-Pw2</ns2:keyStorePassword>", "Xml-Pw2"),
    ('<property name="db.password" value="Xml-Pw3"/>', "Xml-Pw3"),
    ('<dataSource user="app" password="Xml-Pw4"/>', "Xml-Pw4"),
    ('curl -H "Authorization: Basic ZGVtbzpkZW1v" http://x', "ZGVtbzpkZW1v"),
    ("Authorization: Bearer abc.def-123456 sent", "abc.def-123456"),
    ("Authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag", "YIIGhgYGKwYBBQUCoIIGejCCBnag"),
    ("Proxy-Authorization: NTLM TlRMTVNTUAABAAAAB4IIog==", "TlRMTVNTUAABAAAAB4IIog=="),
    ("Cookie: LtpaToken2=AAECAzY1YTdiOWQ5NjVhN2Q4OTlm; Path=/", "AAECAzY1YTdiOWQ5NjVhN2Q4OTlm"),
    ("Set-Cookie: JSESSIONID=0000AbCdEfGh:1a2b3c4d; HttpOnly", "0000AbCdEfGh:1a2b3c4d"),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0g=;"
        "EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0g=",
    ),
    (
        "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig=AbC%2BdEf%3D123&se=x",
        "AbC%2BdEf%3D123",
    ),
    ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=SbKey123abc=;x", "SbKey123abc="),
    ("aws key ASIAY34FZKBOKMUTVV7A in env", "ASIAY34FZKBOKMUTVV7A"),
    ("aws key AKIAIOSFODNN7EXAMPLE in env", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY now",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "google key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW used",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
    ),
    ("oauth ya29.a0AfH6SMBx1y2z3AbCdEfGhIjKlMn used", "ya29.a0AfH6SMBx1y2z3AbCdEfGhIjKlMn"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc used", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    (
        "github ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 used",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    ),
    (
        "github github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP used",
        "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP",
    ),
    ("gitlab glpat-xYz123AbC456dEf789gH used", "glpat-xYz123AbC456dEf789gH"),
    (
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp used",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
    ),
    (
        "hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX ok",
        "XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    ("key sk-abcdefghijklmnopqrstuv in a log", "sk-abcdefghijklmnopqrstuv"),
    ("key sk-proj-Ab12Cd34Ef56Gh78Ij90Kl in a log", "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl"),
    ("vault hvs.CAESIAbCdEfGhIjKlMnOpQrStUvWxYz used", "hvs.CAESIAbCdEfGhIjKlMnOpQrStUvWxYz"),
    (
        "npm npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 used",
        "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    ),
    (
        "sendgrid SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG ok",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ),
    ("twilio SK0123456789abcdef0123456789abcdef used", "SK0123456789abcdef0123456789abcdef"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlX3ZhbHVl end", "c2lnbmF0dXJlX3ZhbHVl"),
    (
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM}\n{PEM}\n-----END RSA PRIVATE KEY-----\nJob ended",
        PEM,
    ),
    (f"-----BEGIN PRIVATE KEY-----\n{PEM}\n{PEM[:40]}", PEM[:40]),  # cut off before END
    (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM[::-1]}\nJob ended", PEM[::-1]),
    (
        f"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{PEM}\n=AbCd\n"
        "-----END PGP PRIVATE KEY BLOCK-----\nJob ended",
        PEM.swapcase(),
    ),
    ('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n"} read', "MIIEvQIBADANBg"),
    ("Password: Pr0mpt-Answer1 entered", "Pr0mpt-Answer1"),
    ("token=abc123def456 in url", "abc123def456"),
    ("https://host/cb?access_token=AcT0ken99&state=1", "AcT0ken99"),
]


@pytest.mark.parametrize(("text", "secret"), SHAPES, ids=[s for _, s in SHAPES])
def test_no_shape_leaks(text: str, secret: str) -> None:
    out = mask_secrets(text)
    assert secret not in out, out
    if len(secret) >= 8:  # not a prefix masked and the rest left: no half of it remains
        assert secret[: len(secret) // 2] not in out and secret[len(secret) // 2 :] not in out, out
    assert "***" in out
    assert mask_secrets(out) == out, "masking twice changes nothing"
    # the words around the secret stay readable
    before = text.split(secret)[0].split()
    if before:
        assert before[0] in out, out


def test_the_corpus_is_large_and_each_shape_distinct() -> None:
    assert len(SHAPES) >= 60
    assert len({s for _, s in SHAPES}) == len(SHAPES)


# Ordinary job-log lines: none of them may change.
ORDINARY = [
    "ORA-01017: invalid username/password; logon denied",
    "ORA-28001: the password has expired",
    "AWSBDW009E retrieving the password structure",
    "AWSBHT001E The job PAYROLL_EXTRACT has failed with the error: password expired",
    "AWSITA104E The user ID used to launch this job is not valid.",
    "Known issue R1.db-credentials (Database login rejected (bad or expired credentials))",
    "plain text about passwords and tokens in general",
    "the password is expired for user db2inst1",
    "Password expired, contact the security team",
    "password change required at next logon",
    "Job PAYROLL_EXTRACT (id 0AAAAAAAAAAAAAAB) ended with return code 12",
    "= JOB       : MDM_WS#DAILY_PAY[(0600 12/05/26),(0AAAAAAAAAAAAACD)].PAYROLL_EXTRACT",
    "= USER      : twsuser",
    "= Exit Status           : 12",
    "= Elapsed Time (hh:mm:ss) : 00:04:17",
    "= Job Number: 4711    = Tue Dec  5 06:00:01 CET 2026",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ok",
    "md5sum d41d8cd98f00b204e9800998ecf8427e  /data/in/payroll_20261205.csv",
    "commit 1c7470f3b2a9e6d5c4b3a2918f7e6d5c4b3a2910 merged",
    "uuid 123e4567-e89b-12d3-a456-426614174000 created",
    "PWD=/opt/IBM/TWA/TWS/stdlist",
    "HOME=/home/twsuser SHELL=/bin/ksh",
    "cp /data/in/file.dat /data/out/file.dat: No such file or directory",
    "2026-12-05T06:00:01.123Z INFO batch started pid=12345",
    "Dec  5 06:00:01 agent1 jobmanager[811]: AWSBIA140I job launched",
    "sc @!@ -> CPU_A LINKED, limit 10, fence 0",
    "conman sj MDM_WS#DAILY_PAY.PAYROLL_EXTRACT;stdlist",
    "rc=0 return code 0 RC=12 exit 137",
    "java.io.FileNotFoundException: /data/in/x.csv (No such file or directory)",
    "Connection refused: connect to db01:50000",
    "SQL30082N Security processing failed with reason 24 (USERNAME AND/OR PASSWORD INVALID)",
    "Login failed for user 'app'. Reason: Password did not match",
    "Access denied for user 'app'@'10.0.0.5' (using password: YES)",
    "key fields: job, stream, workstation",
    "tokens processed: 4096, max_tokens=512",
    "the session ended normally",
    "AWSJPL006E The job stream DAILY_PAY is late: deadline 07:00 passed",
    "Processed 1500 records in 00:01:02 (24.2 rec/s)",
    "URL https://mdm.example.com:31116/twsd/api/v2/plan ok",
    "user@example.com notified",
    "Endpoints (all under /twsd/api/v2; Basic or bearer credentials)",
    "The control plane needs no credentials: it is a test and demo tool",
    "Password: expired for user wauser on AGT_LNX01",
    "AWSBHT001E credentials: invalid for user twsuser",
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_job_log_lines_are_not_masked(line: str) -> None:
    assert mask_secrets(line) == line


def test_simulator_job_logs_are_not_masked_except_their_secrets() -> None:
    """Every line of the simulator's scenarios (job logs, prompts, commands) stays as it is,
    but the one that carries a password on purpose (demo's connect string)."""
    from pathlib import Path

    root = Path(__file__).parents[2] / "resync_ext" / "tws" / "simulator"
    lines = [
        ln
        for f in sorted(root.rglob("*.yaml"))
        for ln in f.read_text(encoding="utf-8").splitlines()
        if ln.strip()
    ]
    assert len(lines) > 200
    changed = [ln for ln in lines if mask_secrets(ln) != ln]
    assert [ln for ln in changed if "Pay2026!nov" not in ln] == []
    assert all("Pay2026!nov" not in mask_secrets(ln) for ln in changed) and changed


def test_detect_secrets_own_scanner_finds_nothing_left_in_the_masked_corpus() -> None:
    """A second opinion: detect-secrets' scanner (its Python engine and keyword heuristics)
    over every masked line. Its entropy scanners flag any word when run line by line, and its
    private-key rule flags the BEGIN line that masking keeps on purpose: those are left out."""
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    ignored = {"Base64 High Entropy String", "Hex High Entropy String", "Private Key"}
    with default_settings():
        left = [
            (line, found.type)
            for text, _ in SHAPES
            for line in mask_secrets(text).splitlines()
            for found in scan_line(line)
            if found.type not in ignored
        ]
        raw = {
            found.type
            for text, _ in SHAPES
            for line in text.splitlines()
            for found in scan_line(line)
            if found.type not in ignored
        }
    assert left == []
    assert len(raw) >= 8, "the scanner does find the corpus' secrets before masking"


def test_rendered_job_logs_of_every_scenario_are_left_as_they_are() -> None:
    """The simulator's job logs as the engine serves them (stdlist header, output, exit
    status), for the packaged and the evaluation scenarios: 0 lines masked, but the one secret."""
    from pathlib import Path

    from resync_ext.tws.simulator import joblog
    from resync_ext.tws.simulator.errors import NotFound
    from resync_ext.tws.simulator.plan import Plan
    from resync_ext.tws.simulator.scenario import load_scenario

    evals = Path(__file__).parents[1] / "evals" / "scenarios"
    lines: list[str] = []
    sources: list[str | Path] = ["demo", *sorted(evals.glob("*.yaml"))]
    for source in sources:
        plan = Plan(load_scenario(source))
        for job in plan.all_jobs():
            for run in job.runs:
                try:
                    lines += joblog.render(plan, job, run).splitlines()
                except NotFound:  # a job that has not started has no log
                    continue
    assert len(lines) > 2000
    changed = [ln for ln in lines if mask_secrets(ln) != ln]
    assert [ln for ln in changed if "Pay2026!nov" not in ln] == []
