//! Danish alphabetical order: a–z, then æ, ø, å; case does not matter.
//!
//! A small sort key rather than a full collation library: the lists sorted
//! here are names of organisations, a few hundred at most, and the rules
//! needed are few. Like Danish dictionaries, ä sorts with æ, ö with ø, ü with
//! y, and other accents with their base letter; digits come before letters
//! and punctuation before digits. (The old rule that reads "aa" as "å" is
//! not applied: company names such as "Aalborg Data" keep their spelling's
//! place.)

/// The primary sort key of `s` under Danish rules.
#[must_use]
pub fn danish_key(s: &str) -> Vec<u32> {
    let mut key = Vec::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' => key.push(100 + (c as u32 - 'a' as u32)),
            'æ' | 'ä' => key.push(126),
            'ø' | 'ö' | 'ő' => key.push(127),
            'å' => key.push(128),
            'ß' => key.extend([100 + 18, 100 + 18]),
            '0'..='9' => key.push(50 + (c as u32 - '0' as u32)),
            c if c.is_whitespace() => key.push(1),
            c if c.is_alphabetic() => {
                key.push(base_letter(c).map_or(1000 + c as u32, |b| 100 + (b as u32 - 'a' as u32)));
            }
            _ => key.push(2),
        }
    }
    key
}

/// The Latin letter an accented letter sorts with, if any.
fn base_letter(c: char) -> Option<char> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ā' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' => 'o',
        'ù' | 'ú' | 'û' | 'ů' => 'u',
        'ü' | 'ý' | 'ÿ' => 'y',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ł' => 'l',
        'ð' => 'd',
        _ => return None,
    })
}

/// Sorts `names` in Danish order; names equal under it keep a fixed order
/// (capitals first, as in Danish dictionaries).
pub fn sort_danish(names: &mut [String]) {
    names.sort_by_cached_key(|n| (danish_key(n), n.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ae_oe_aa_come_after_z_whatever_the_case() {
        let mut names: Vec<String> =
            ["Åben IT", "zenit", "Ørsted", "æble", "Aarhus", "beta", "Zulu", "ærlig", "Øk", "å"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        sort_danish(&mut names);
        assert_eq!(names, ["Aarhus", "beta", "zenit", "Zulu", "æble", "ærlig", "Øk", "Ørsted", "å", "Åben IT"]);
    }

    #[test]
    fn accents_sort_with_their_letter_and_umlauts_with_the_danish_ones() {
        let mut names: Vec<String> =
            ["Zürich", "Érik", "Ødegaard", "Öhman", "Ezra", "Eric"].iter().map(|s| (*s).to_owned()).collect();
        sort_danish(&mut names);
        assert_eq!(names, ["Eric", "Érik", "Ezra", "Zürich", "Ødegaard", "Öhman"]);
    }
}
