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

/// The identifier shape of a value, if it has one. Cheap for ordinary values: every test
/// needs a specific length or an `@`.
pub fn value_shape(value: &str) -> Option<Shape> {
    let v = super::parse::trim(value).as_bytes();
    if v.len() < 6 {
        return None;
    }
    if v.contains(&b'@') {
        return is_email(v).then_some(Shape::Email);
    }
    if !v[0].is_ascii_digit() && v[0] != b'(' && v[0] != b'+' {
        return None;
    }
    // An SSN has 9 digits and a phone number at least 10: most values (dates, scores) have
    // fewer, and are let through without the shape checks.
    if v.iter().filter(|b| b.is_ascii_digit()).count() < 9 {
        return None;
    }
    if is_ssn(v) {
        return Some(Shape::Ssn);
    }
    if is_phone(v) {
        return Some(Shape::Phone);
    }
    None
}

fn digits(v: &[u8]) -> bool {
    v.iter().all(u8::is_ascii_digit)
}

/// `ddd-dd-dddd` or `ddd dd dddd`.
fn is_ssn(v: &[u8]) -> bool {
    v.len() == 11
        && (v[3] == b'-' || v[3] == b' ')
        && v[6] == v[3]
        && digits(&v[..3])
        && digits(&v[4..6])
        && digits(&v[7..])
}

/// North American numbers with separators: `555-123-4567`, `555.123.4567`, `555 123 4567`,
/// `(555) 123-4567`, with an optional `+1`/`1` prefix. Ten bare digits are not flagged (too
/// many record keys look like that).
fn is_phone(v: &[u8]) -> bool {
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
    let (area, rest) = if s.first() == Some(&b'(') {
        if s.len() < 5 || s[4] != b')' || !digits(&s[1..4]) {
            return false;
        }
        let mut r = &s[5..];
        if let Some(x) = r.strip_prefix(b" ") {
            r = x;
        }
        (true, r)
    } else {
        if s.len() < 4 || !digits(&s[..3]) || !matches!(s[3], b'-' | b'.' | b' ') {
            return false;
        }
        (true, &s[4..])
    };
    area && rest.len() == 8
        && digits(&rest[..3])
        && matches!(rest[3], b'-' | b'.' | b' ')
        && digits(&rest[4..])
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
        ] {
            assert_eq!(value_shape(ok), None, "{ok}");
        }
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
