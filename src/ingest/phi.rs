//! The PHI guard (SPEC §3): header names that look like HIPAA Safe Harbor direct identifiers,
//! and text values shaped like an SSN, e-mail address or phone number. A hit stops the run;
//! messages name file, line and column and never contain the value.

/// What a value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Ssn,
    Email,
    Phone,
}

impl Shape {
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Ssn => "a Social Security number",
            Shape::Email => "an e-mail address",
            Shape::Phone => "a phone number",
        }
    }
}

/// Header names (lower case, letters and digits only) of Safe Harbor identifiers.
const IDENTIFIER_NAMES: &[&str] = &[
    "name",
    "firstname",
    "lastname",
    "middlename",
    "fullname",
    "surname",
    "givenname",
    "familyname",
    "maidenname",
    "patientname",
    "clientname",
    "membername",
    "fname",
    "lname",
    "ssn",
    "socialsecurity",
    "socialsecuritynumber",
    "socsecno",
    "ssnumber",
    "dob",
    "dateofbirth",
    "birthdate",
    "birthday",
    "birthdt",
    "address",
    "streetaddress",
    "street",
    "address1",
    "address2",
    "addressline1",
    "addressline2",
    "homeaddress",
    "mailingaddress",
    "city",
    "county",
    "zip",
    "zipcode",
    "postalcode",
    "postcode",
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "mobile",
    "mobilephone",
    "cellphone",
    "cell",
    "homephone",
    "workphone",
    "fax",
    "faxnumber",
    "email",
    "emailaddress",
    "mail",
    "mrn",
    "medicalrecordnumber",
    "medicalrecord",
    "medicalrecordno",
    "chartnumber",
    "healthplanid",
    "healthplannumber",
    "beneficiarynumber",
    "medicaidid",
    "medicareid",
    "accountnumber",
    "licensenumber",
    "driverslicense",
    "licenseplate",
    "vin",
    "url",
    "website",
    "ipaddress",
    "photo",
    "fingerprint",
];

/// Whether a header name looks like a direct identifier.
pub fn identifier_header(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    IDENTIFIER_NAMES.contains(&folded.as_str())
}

/// The identifier shape found anywhere inside a value, if any (SPEC §16 O5: `clinic
/// 123-45-6789` is caught like `123-45-6789`). Cheap for ordinary values: an e-mail needs an
/// `@`, an SSN 9 digits and a phone number 10, and most values (dates, scores, labels) have
/// neither.
pub fn value_shape(value: &str) -> Option<Shape> {
    let v = super::parse::trim(value).as_bytes();
    if v.len() < 6 {
        return None;
    }
    // One pass without an early exit (it compiles to vector code): every field of every
    // record comes here (1,000,000 episodes: 160 million values; memchr for the `@` and a
    // second pass counting digits took 0.9 s of CPU).
    let (mut digits, mut at) = (0usize, false);
    for &b in v {
        digits += usize::from(b.is_ascii_digit());
        at |= b == b'@';
    }
    if at && has_email(v) {
        return Some(Shape::Email);
    }
    if digits < 9 {
        return None;
    }
    // Candidate starts: a digit, `(` or `+` not preceded by a digit (so a shape is never
    // found inside a longer run of digits).
    let starts = (0..v.len()).filter(|&i| {
        matches!(v[i], b'0'..=b'9' | b'(' | b'+') && (i == 0 || !v[i - 1].is_ascii_digit())
    });
    let mut phone = false;
    for i in starts {
        let ends_here = |len: usize| v.get(i + len).is_none_or(|b| !b.is_ascii_digit());
        if ssn_at(&v[i..]) && ends_here(11) {
            return Some(Shape::Ssn);
        }
        phone |= phone_at(&v[i..]).is_some_and(ends_here);
    }
    phone.then_some(Shape::Phone)
}

fn digits(v: &[u8]) -> bool {
    v.iter().all(u8::is_ascii_digit)
}

/// Whether `v` starts with `ddd-dd-dddd` or `ddd dd dddd`.
fn ssn_at(v: &[u8]) -> bool {
    v.len() >= 11
        && (v[3] == b'-' || v[3] == b' ')
        && v[6] == v[3]
        && digits(&v[..3])
        && digits(&v[4..6])
        && digits(&v[7..11])
}

/// The length of a North American number with separators at the start of `v`:
/// `555-123-4567`, `555.123.4567`, `555 123 4567`, `(555) 123-4567`, with an optional `+1`/`1`
/// prefix. Ten bare digits are not flagged (too many record keys look like that).
fn phone_at(v: &[u8]) -> Option<usize> {
    let mut s = v;
    if let Some(rest) = s.strip_prefix(b"+1") {
        s = rest;
    } else if s.len() > 12 && s[0] == b'1' && matches!(s[1], b'-' | b'.' | b' ') {
        s = &s[1..];
    }
    while let Some(rest) = s
        .strip_prefix(b" ")
        .or_else(|| s.strip_prefix(b"-"))
        .or_else(|| s.strip_prefix(b"."))
    {
        s = rest;
    }
    let rest = if s.first() == Some(&b'(') {
        if s.len() < 5 || s[4] != b')' || !digits(&s[1..4]) {
            return None;
        }
        let r = &s[5..];
        r.strip_prefix(b" ").unwrap_or(r)
    } else {
        if s.len() < 4 || !digits(&s[..3]) || !matches!(s[3], b'-' | b'.' | b' ') {
            return None;
        }
        &s[4..]
    };
    let ok = rest.len() >= 8
        && digits(&rest[..3])
        && matches!(rest[3], b'-' | b'.' | b' ')
        && digits(&rest[4..8]);
    ok.then(|| v.len() - rest.len() + 8)
}

/// Whether any word of `v` (cut at whitespace and punctuation that cannot be in an address)
/// is an e-mail address.
fn has_email(v: &[u8]) -> bool {
    v.split(|b| {
        b.is_ascii_whitespace()
            || matches!(
                b,
                b',' | b';' | b'<' | b'>' | b'(' | b')' | b'"' | b'\'' | b'[' | b']'
            )
    })
    .any(|w| w.contains(&b'@') && is_email(w))
}

fn is_email(v: &[u8]) -> bool {
    let Some(at) = v.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&v[..at], &v[at + 1..]);
    let ok = |b: &u8| !b.is_ascii_whitespace() && *b != b'@' && *b != b',';
    if local.is_empty() || !local.iter().all(ok) || !domain.iter().all(ok) {
        return false;
    }
    match domain.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => {
            let tld = &domain[dot + 1..];
            tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(value_shape("123-45-6789"), Some(Shape::Ssn));
        assert_eq!(value_shape("123 45 6789"), Some(Shape::Ssn));
        assert_eq!(value_shape("jane.doe@example.org"), Some(Shape::Email));
        assert_eq!(value_shape("555-123-4567"), Some(Shape::Phone));
        assert_eq!(value_shape("(555) 123-4567"), Some(Shape::Phone));
        assert_eq!(value_shape("+1 555 123 4567"), Some(Shape::Phone));
        assert_eq!(value_shape("1-555-123-4567"), Some(Shape::Phone));
        for ok in [
            "2025-01-05",
            "E0000001",
            "5551234567",
            "12.5",
            "co_occurring",
            "a@b",
            "18-25",
            "1441",
            "123-456",
            "2025-01-05 12:30:45",
            "site 12-345-6789",
            "1234-56-78901",
            "tel 5551234567",
            "release 1.2.3 build 4567",
            "a@b.c",
        ] {
            assert_eq!(value_shape(ok), None, "{ok}");
        }
    }

    #[test]
    fn shapes_inside_longer_values() {
        // SPEC §16 O5: an identifier anywhere inside a text value.
        assert_eq!(value_shape("clinic 123-45-6789"), Some(Shape::Ssn));
        assert_eq!(value_shape("123-45-6789 north"), Some(Shape::Ssn));
        assert_eq!(value_shape("x:123 45 6789;"), Some(Shape::Ssn));
        assert_eq!(value_shape("call (555) 123-4567 now"), Some(Shape::Phone));
        assert_eq!(value_shape("site A, 555.123.4567"), Some(Shape::Phone));
        assert_eq!(value_shape("ph:+1 555 123 4567"), Some(Shape::Phone));
        assert_eq!(
            value_shape("contact <jane.doe@example.org> today"),
            Some(Shape::Email)
        );
        assert_eq!(value_shape("me@home.net"), Some(Shape::Email));
        // Inside a longer run of digits it is not the shape.
        assert_eq!(value_shape("9123-45-67890"), None);
        assert_eq!(value_shape("5555-123-45678"), None);
    }

    #[test]
    fn headers() {
        for bad in [
            "Name",
            "Last Name",
            "SSN",
            "Date of Birth",
            "DOB",
            "E-mail",
            "Phone Number",
            "MRN",
            "Street Address",
            "ZIP",
        ] {
            assert!(identifier_header(bad), "{bad}");
        }
        for ok in [
            "episode_id",
            "client_id",
            "site",
            "track",
            "instrument",
            "notes_count",
            "site_name",
        ] {
            assert!(!identifier_header(ok), "{ok}");
        }
    }
}

#[cfg(test)]
mod typed_tests {
    use super::*;
    use proptest::prelude::*;

    /// Text built from the pieces of numbers, dates and identifier shapes.
    fn pieces() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            6 => proptest::char::range('0', '9').prop_map(String::from),
            1 => Just("-".to_string()),
            1 => Just("+".to_string()),
            1 => Just(".".to_string()),
            1 => Just("e".to_string()),
            1 => Just("E".to_string()),
            1 => Just(" ".to_string()),
            1 => Just("(".to_string()),
            1 => Just(")".to_string()),
            1 => Just("@".to_string()),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]
        /// What lets the row checks defer the guard of typed fields to rows that are not
        /// accepted (`validate::Prepared::guarded`): a value that reads as a number or a strict
        /// ISO date has no identifier shape.
        #[test]
        fn typed_values_hold_no_identifier_shape(v in pieces()) {
            if crate::ingest::parse::number(&v).is_some()
                || crate::dates::parse_iso(v.as_bytes()).is_some()
            {
                prop_assert_eq!(value_shape(&v), None, "{}", v);
            }
        }
    }

    #[test]
    fn shaped_values_are_not_numbers_or_dates() {
        // The generator reaches the shapes: each is one of its strings, and none is typed.
        for v in [
            "123-45-6789",
            "555-123-4567",
            "555.123.4567",
            "+1 555 123 4567",
        ] {
            assert!(value_shape(v).is_some(), "{v}");
            assert_eq!(crate::ingest::parse::number(v), None);
            assert_eq!(crate::dates::parse_iso(v.as_bytes()), None);
        }
    }
}
