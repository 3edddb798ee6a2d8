//! The redaction corpus: each case plants a secret (`marker`) in text shaped like what providers
//! write, and the redacted text must not contain it. `kept` is what must survive, so a pattern
//! that eats the whole line fails too.

use super::*;

struct Case {
    text: &'static str,
    marker: &'static str,
    kept: &'static str,
}

const CORPUS: &[Case] = &[
    Case {
        text: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2024-03-05T00:00:00Z&sig=Zm9vYmFyU0FTU0lHTkFUVVJFMTIzNDU2Nzg5MA%3D%3D",
        marker: "Zm9vYmFyU0FTU0lHTkFUVVJFMTIzNDU2Nzg5MA",
        kept: "sv=2022-11-02",
    },
    Case {
        text: "An error occurred (InvalidToken): token eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiIsImlhdCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlU0VDUkVUbWFya2Vy is expired",
        marker: "c2lnbmF0dXJlU0VDUkVUbWFya2Vy",
        kept: "is expired",
    },
    Case {
        text: "could not connect to https://deploy:Hunter2SecretPw@db.internal.example:5432/app",
        marker: "Hunter2SecretPw",
        kept: "db.internal.example",
    },
    Case {
        text: "Invalid key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAPEMSECRETMARKER0123456789\nabcdef\n-----END RSA PRIVATE KEY----- rejected",
        marker: "PEMSECRETMARKER",
        kept: "rejected",
    },
    Case {
        text: "Invalid key: -----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqPEMESCAPEDMARKER\\n (truncated",
        marker: "PEMESCAPEDMARKER",
        kept: "Invalid key",
    },
    Case {
        text: "aws-cli/2.15.0 Python/3.11 auth=Bearer abcdefTOKENINUSERAGENT0123456789",
        marker: "TOKENINUSERAGENT",
        kept: "aws-cli/2.15.0",
    },
    Case {
        text: "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam&X-Goog-Signature=9f8e7dGOOGSIGMARKER",
        marker: "GOOGSIGMARKER",
        kept: "X-Goog-Algorithm=GOOG4-RSA-SHA256",
    },
    Case {
        text: "https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc123AMZSIGMARKER&X-Amz-Date=20240301T000000Z",
        marker: "AMZSIGMARKER",
        kept: "X-Amz-Date=20240301T000000Z",
    },
    Case {
        text: "redirect to https://app.example/callback?state=xyz&code=OAUTHCODEMARKER42",
        marker: "OAUTHCODEMARKER42",
        kept: "state=xyz",
    },
    Case {
        text: "login failed for https://app.example/login?user=bob&password=PASSWORDPARAMMARKER",
        marker: "PASSWORDPARAMMARKER",
        kept: "user=bob",
    },
    Case {
        text: "GET /api?token=TOKENPARAMMARKER HTTP/1.1",
        marker: "TOKENPARAMMARKER",
        kept: "HTTP/1.1",
    },
    Case {
        text: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        marker: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        kept: "aws_secret_access_key",
    },
    Case {
        text: r#"{"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","AccessKeyId":"AKIAIOSFODNN7EXAMPLE"}"#,
        marker: "bPxRfiCYEXAMPLEKEY",
        kept: "AKIAIOSFODNN7EXAMPLE",
    },
    Case {
        text: r#"request body was {"user": "svc", "password": "JSONPASSWORDMARKER", "region": "eu"}"#,
        marker: "JSONPASSWORDMARKER",
        kept: "\"region\": \"eu\"",
    },
    Case {
        text: r#"settings {"clientSecret": "CLIENTSECRETMARKER"}"#,
        marker: "CLIENTSECRETMARKER",
        kept: "settings",
    },
    Case {
        text: "config apiKey: APIKEYFREETEXTMARKER, retries: 3",
        marker: "APIKEYFREETEXTMARKER",
        kept: "retries: 3",
    },
    Case {
        text: r#"{"storageKey":"STORAGEKEYMARKER=="}"#,
        marker: "STORAGEKEYMARKER",
        kept: "storageKey",
    },
    Case {
        text: "curl/8.5 ghp_GITHUBTOKENMARKER0123456789abcdefghijklmn",
        marker: "GITHUBTOKENMARKER",
        kept: "curl/8.5",
    },
    Case {
        text: "key AIzaSyGOOGLEAPIKEYMARKER-0123456789abcde used",
        marker: "GOOGLEAPIKEYMARKER",
        kept: "used",
    },
];

#[test]
fn every_planted_secret_is_gone_and_the_rest_is_kept() {
    for case in CORPUS {
        let redacted = text(case.text);
        assert!(
            !redacted.contains(case.marker),
            "not redacted: {:?} -> {redacted:?}",
            case.text
        );
        assert!(
            redacted.contains(case.kept),
            "redacted too much: {:?} -> {redacted:?}",
            case.text
        );
        assert!(redacted.contains("[REDACTED:"), "{redacted}");
    }
}

#[test]
fn ordinary_audit_text_is_untouched() {
    for clean in [
        "Microsoft.Compute/virtualMachines/write",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "Failed: Conflict: SkuNotAvailable: The requested size for resource is currently not available.",
        "50126: Invalid username or password or Invalid on-premise username or password.",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0",
        "https://management.azure.com/subscriptions/s/resourceGroups/rg?api-version=2023-03-01",
        "AKIAIOSFODNN7EXAMPLE",
        "KeyDescription",
        "Update application - Certificates and secrets management",
        "projects/p/zones/us-central1-a/instances/gpu-worker-1",
        "7: Required 'compute.instances.create' permission for 'projects/p/zones/z/instances/miner-01'",
    ] {
        assert_eq!(text(clean), clean, "changed: {clean}");
        assert!(matches!(text(clean), Cow::Borrowed(_)));
    }
}

#[test]
fn the_table_names_every_row_and_says_why() {
    let names: BTreeSet<&str> = patterns().iter().map(|p| p.name).collect();
    assert_eq!(names.len(), patterns().len(), "row names are unique");
    assert!(patterns().iter().all(|p| !p.why.trim().is_empty()));
    for required in [
        "pem-block",
        "jwt",
        "signature-parameter",
        "url-userinfo",
        "aws-secret-key",
        "secret-named-value",
    ] {
        assert!(names.contains(required), "{required}");
    }
}

#[test]
fn json_values_and_keys_are_redacted_in_place() {
    let mut document = serde_json::json!({
        "reason": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.SIGMARKERJWT",
        "nested": [{"id": "/x?sig=SASMARKER"}],
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.KEYMARKERJWT": 1,
        "count": 3
    });
    value(&mut document);
    let written = document.to_string();
    for marker in ["SIGMARKERJWT", "SASMARKER", "KEYMARKERJWT"] {
        assert!(!written.contains(marker), "{written}");
    }
    assert_eq!(document["count"], 3);
}

#[test]
fn identities_and_passwords_typed_as_user_names() {
    let identity = Regex::new(DEFAULT_IDENTITY_PATTERN).unwrap();
    for name in [
        "alice@contoso.example",
        "CONTOSO\\alice",
        "b2c3d4e5-0000-4000-8000-00000000a11c",
        "arn:aws:iam::123456789012:user/alice",
        "admin",
        "jane.doe",
        "svc-backup_7",
        "123456789012",
    ] {
        assert!(looks_like_identity(name, &identity), "{name}");
    }
    for password in [
        "Summer2024!",
        "P@ssw0rd",
        "hunter2!",
        "Tr0ub4dor&3",
        "Alice@2024",
    ] {
        assert!(!looks_like_identity(password, &identity), "{password}");
    }
}

#[test]
fn failed_names_are_redacted_unless_known_or_identities() {
    let identity = Regex::new(DEFAULT_IDENTITY_PATTERN).unwrap();
    let known = BTreeSet::from(["jdoe@x".to_string(), "winter-2024!".to_string()]);
    let names = UserNames::decide(
        [
            "Summer2024!",
            "alice@contoso.example",
            "Winter-2024!",
            "Qx9",
        ],
        &known,
        &identity,
    );
    assert!(names.contains("summer2024!"));
    assert!(!names.contains("alice@contoso.example"), "an identity");
    assert!(!names.contains("Winter-2024!"), "known");
    let mut document = serde_json::json!({
        "principals": ["Summer2024!", "alice@contoso.example", "Qx9"],
        "summary": "12 failures for SUMMER2024! from 203.0.113.9; Qx9 too",
    });
    names.redact(&mut document);
    let written = document.to_string();
    assert!(!written.to_lowercase().contains("summer2024!"), "{written}");
    assert_eq!(document["principals"][2], USER_NAME, "short names: whole");
    assert!(written.contains("Qx9 too"), "short names not inside text");
    assert!(written.contains("alice@contoso.example"));
}
