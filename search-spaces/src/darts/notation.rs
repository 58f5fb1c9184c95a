//! Parser of the DARTS `Genotype(...)` repr.
//!
//! Accepted: `Genotype(normal=[(op, i), ...], normal_concat=C, reduce=[...], reduce_concat=C)`
//! with the four keyword arguments in any order, ops quoted with `'` or `"`,
//! any whitespace, optional trailing commas, and `C` either `[2, 3, 4, 5]` or
//! `range(2, 6)` (as the DARTS repository prints it). Each node's two edges may
//! come in either order; the result is canonical (see [`DartsCell`]). `none` is
//! rejected: DARTS never puts it in a derived genotype.

use super::genotype::{CONCAT, DartsCell, DartsEdge, DartsGenotype, EDGES_PER_CELL};
use super::ops::DartsOp;
use nas_core::{NasError, Result};

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(usize),
    Punct(char),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(s) => format!("`{s}`"),
            Token::Str(s) => format!("'{s}'"),
            Token::Int(i) => format!("`{i}`"),
            Token::Punct(c) => format!("`{c}`"),
        }
    }
}

fn tokenize(input: &str) -> std::result::Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut s = String::new();
            while let Some(&(_, c)) = chars.peek().filter(|(_, c)| c.is_ascii_alphanumeric() || *c == '_') {
                s.push(c);
                chars.next();
            }
            tokens.push(Token::Ident(s));
        } else if c.is_ascii_digit() {
            let mut s = String::new();
            while let Some(&(_, c)) = chars.peek().filter(|(_, c)| c.is_ascii_digit()) {
                s.push(c);
                chars.next();
            }
            let n = s.parse().map_err(|_| format!("number `{s}` is too large"))?;
            tokens.push(Token::Int(n));
        } else if c == '\'' || c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some((_, q)) if q == c => break,
                    Some((_, ch)) => s.push(ch),
                    None => return Err(format!("unterminated string starting at byte {pos}")),
                }
            }
            tokens.push(Token::Str(s));
        } else if "()[],=".contains(c) {
            tokens.push(Token::Punct(c));
            chars.next();
        } else {
            return Err(format!("unexpected character `{c}` at byte {pos}"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self, expected: &str) -> std::result::Result<Token, String> {
        let t = self.tokens.get(self.pos).cloned().ok_or_else(|| format!("expected {expected}, found the end"))?;
        self.pos += 1;
        Ok(t)
    }

    fn punct(&mut self, c: char) -> std::result::Result<(), String> {
        match self.next(&format!("`{c}`"))? {
            Token::Punct(p) if p == c => Ok(()),
            t => Err(format!("expected `{c}`, found {}", t.describe())),
        }
    }

    /// Consumes `c` if it is next.
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn int(&mut self) -> std::result::Result<usize, String> {
        match self.next("an integer")? {
            Token::Int(i) => Ok(i),
            t => Err(format!("expected an integer, found {}", t.describe())),
        }
    }

    /// `[a, b, ...]` (trailing comma allowed) with `item` parsing each element.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<Vec<T>, String> {
        self.punct('[')?;
        let mut out = Vec::new();
        while !self.eat(']') {
            out.push(item(self)?);
            if !self.eat(',') {
                self.punct(']')?;
                break;
            }
        }
        Ok(out)
    }

    /// `('op', i)`.
    fn edge(&mut self) -> std::result::Result<(String, usize), String> {
        self.punct('(')?;
        let name = match self.next("an op name")? {
            Token::Str(s) => s,
            t => Err(format!("expected a quoted op name, found {}", t.describe()))?,
        };
        self.punct(',')?;
        let input = self.int()?;
        self.eat(',');
        self.punct(')')?;
        Ok((name, input))
    }

    /// `[2, 3, 4, 5]` or `range(2, 6)`.
    fn concat(&mut self) -> std::result::Result<Vec<usize>, String> {
        if self.peek() == Some(&Token::Ident("range".into())) {
            self.pos += 1;
            self.punct('(')?;
            let start = self.int()?;
            self.punct(',')?;
            let end = self.int()?;
            self.eat(',');
            self.punct(')')?;
            // A cell has a handful of nodes; refuse before allocating a huge range.
            if end.saturating_sub(start) > MAX_CONCAT {
                return Err(format!("`range({start}, {end})` lists more than {MAX_CONCAT} nodes"));
            }
            Ok((start..end).collect())
        } else {
            self.list(Self::int)
        }
    }
}

/// Most nodes a `range(..)` concat may list (cells have a handful).
const MAX_CONCAT: usize = 1024;

/// The four keyword arguments of a `Genotype`.
#[derive(Default)]
struct Fields {
    normal: Option<Vec<(String, usize)>>,
    normal_concat: Option<Vec<usize>>,
    reduce: Option<Vec<(String, usize)>>,
    reduce_concat: Option<Vec<usize>>,
}

fn parse_fields(input: &str) -> std::result::Result<Fields, String> {
    let mut p = Parser { tokens: tokenize(input)?, pos: 0 };
    match p.next("`Genotype`")? {
        Token::Ident(s) if s == "Genotype" => {}
        t => return Err(format!("expected `Genotype`, found {}", t.describe())),
    }
    p.punct('(')?;
    let mut f = Fields::default();
    while !p.eat(')') {
        let key = match p.next("a field name")? {
            Token::Ident(s) => s,
            t => return Err(format!("expected a field name, found {}", t.describe())),
        };
        p.punct('=')?;
        let duplicate = match key.as_str() {
            "normal" => f.normal.replace(p.list(Parser::edge)?).is_some(),
            "reduce" => f.reduce.replace(p.list(Parser::edge)?).is_some(),
            "normal_concat" => f.normal_concat.replace(p.concat()?).is_some(),
            "reduce_concat" => f.reduce_concat.replace(p.concat()?).is_some(),
            other => {
                return Err(format!("unknown field `{other}`; allowed: normal, normal_concat, reduce, reduce_concat"));
            }
        };
        if duplicate {
            return Err(format!("field `{key}` is given twice"));
        }
        if !p.eat(',') {
            p.punct(')')?;
            break;
        }
    }
    if let Some(t) = p.peek() {
        return Err(format!("unexpected {} after the closing `)`", t.describe()));
    }
    Ok(f)
}

fn build_cell(
    kind: &str,
    pairs: Option<Vec<(String, usize)>>,
    concat: Option<Vec<usize>>,
) -> std::result::Result<DartsCell, String> {
    let pairs = pairs.ok_or_else(|| format!("missing field `{kind}`"))?;
    let concat = concat.ok_or_else(|| format!("missing field `{kind}_concat`"))?;
    if concat != CONCAT {
        return Err(format!("{kind}_concat must be [2, 3, 4, 5] (all four intermediate nodes), got {concat:?}"));
    }
    if pairs.len() != EDGES_PER_CELL {
        return Err(format!("{kind} must have {EDGES_PER_CELL} (op, input) pairs (two per node), got {}", pairs.len()));
    }
    let mut edges = [DartsEdge::new(DartsOp::SkipConnect, 0); EDGES_PER_CELL];
    for (slot, (name, input)) in edges.iter_mut().zip(pairs) {
        let op = DartsOp::from_name(&name).ok_or_else(|| {
            if name == "none" {
                format!(
                    "op `none` in {kind} is not allowed: derived DARTS genotypes exclude it; allowed: {}",
                    DartsOp::allowed_names()
                )
            } else {
                format!("unknown op `{name}` in {kind}; allowed: {}", DartsOp::allowed_names())
            }
        })?;
        *slot = DartsEdge::new(op, input);
    }
    DartsCell::check(edges).map_err(|reason| format!("{kind} cell: {reason}"))
}

/// Parses a DARTS `Genotype(...)` repr into a canonical [`DartsGenotype`].
pub fn parse_genotype(input: &str) -> Result<DartsGenotype> {
    let build = || -> std::result::Result<DartsGenotype, String> {
        let f = parse_fields(input)?;
        let normal = build_cell("normal", f.normal, f.normal_concat)?;
        let reduce = build_cell("reduce", f.reduce, f.reduce_concat)?;
        Ok(DartsGenotype::new(normal, reduce))
    };
    build().map_err(|reason| NasError::Parse { space: "darts".into(), input: input.to_string(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darts::published::DARTS_V2;
    use nas_core::Architecture;

    /// Its canonical notation: normal node 2 and reduce nodes 1 and 3 now list their
    /// lower input first.
    const DARTS_V2_CANONICAL: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('skip_connect', 2), ('max_pool_3x3', 1), ('skip_connect', 2)], reduce_concat=[2, 3, 4, 5])";

    #[test]
    fn darts_v2_round_trips() {
        let g = parse_genotype(DARTS_V2).expect("DARTS_V2 parses");
        assert_eq!(g.notation(), DARTS_V2_CANONICAL);
        assert_eq!(parse_genotype(&g.notation()).expect("canonical parses"), g);
        // The DARTS repository prints the concatenations as `range(2, 6)`.
        let ranged = DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)");
        assert_eq!(parse_genotype(&ranged).expect("range parses"), g);
        // Whitespace, double quotes, trailing commas and field order are free.
        let loose = "Genotype(\n  reduce_concat=range(2,6), reduce=[(\"max_pool_3x3\",0),('max_pool_3x3',1),('skip_connect',2),('max_pool_3x3',1),('max_pool_3x3',0),('skip_connect',2),('skip_connect',2),('max_pool_3x3',1),],\n  normal=[('sep_conv_3x3',0),('sep_conv_3x3',1),('sep_conv_3x3',0),('sep_conv_3x3',1),('sep_conv_3x3',1),('skip_connect',0),('skip_connect',0),('dil_conv_3x3',2)], normal_concat=[2,3,4,5],\n)";
        assert_eq!(parse_genotype(loose).expect("loose parses"), g);
    }

    #[test]
    fn errors_are_specific() {
        let cases = [
            (DARTS_V2.replace("('dil_conv_3x3', 2)", "('none', 2)"), "`none`"),
            (DARTS_V2.replace("('dil_conv_3x3', 2)", "('conv_7x1_1x7', 2)"), "unknown op `conv_7x1_1x7`"),
            (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 0)"), "distinct"),
            (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 6)"), "reads state 6"),
            (DARTS_V2.replacen("[2, 3, 4, 5]", "[2, 3, 4, 5, 6]", 1), "normal_concat"),
            (DARTS_V2.replace(", ('dil_conv_3x3', 2)", ""), "8 (op, input) pairs"),
            (DARTS_V2.replace("reduce_concat", "reduced_concat"), "unknown field `reduced_concat`"),
            (DARTS_V2.replace("Genotype(", "Genome("), "expected `Genotype`"),
            (format!("{DARTS_V2})"), "after the closing"),
            (DARTS_V2.replace(", normal_concat=[2, 3, 4, 5]", ""), "missing field `normal_concat`"),
        ];
        for (input, needle) in cases {
            let msg = parse_genotype(&input).expect_err(needle).to_string();
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
        let msg = parse_genotype(&cases_none()).expect_err("none").to_string();
        assert!(msg.contains("allowed: max_pool_3x3, avg_pool_3x3"), "{msg}");
    }

    fn cases_none() -> String {
        DARTS_V2.replace("('dil_conv_3x3', 2)", "('none', 2)")
    }
}
