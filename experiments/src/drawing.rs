//! SVG drawings of architectures for `report.html`: NB201 and DARTS cells as
//! graphs, plain CNNs as a strip of blocks, co-design architectures as their
//! tasks' drawings and the accelerator's sub-accelerators. Drawn from the
//! canonical notation, so a report needs no space object.

use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A cell as a graph: `nodes` labels left to right, `edges` (from, to, label)
/// drawn as arcs above the nodes with their op names.
pub fn cell_svg(title: &str, nodes: &[String], edges: &[(usize, usize, String)]) -> String {
    let gap = 120.0;
    let width = 40.0 + gap * (nodes.len().max(2) - 1) as f64 + 40.0;
    let span_max = edges.iter().map(|(a, b, _)| b.abs_diff(*a)).max().unwrap_or(1) as f64;
    let base = 40.0 + 34.0 * span_max;
    let height = base + 40.0;
    let x = |i: usize| 40.0 + gap * i as f64;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11"><text x="4" y="12" font-weight="bold">{}</text>"#,
        esc(title)
    );
    for (a, b, label) in edges {
        let (x1, x2) = (x(*a), x(*b));
        let rise = 30.0 * b.abs_diff(*a) as f64;
        let mx = (x1 + x2) / 2.0;
        let dashed = if label == "skip_connect" { r#" stroke-dasharray="4 3""# } else { "" };
        let _ = write!(
            s,
            r##"<path d="M{x1:.1},{base:.1} Q{mx:.1},{:.1} {x2:.1},{base:.1}" fill="none" stroke="#4a6fa5" stroke-width="1.5"{dashed}/><text x="{mx:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            base - 2.0 * rise,
            base - rise - 4.0,
            esc(label)
        );
    }
    for (i, n) in nodes.iter().enumerate() {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{base:.1}" r="13" fill="#fff" stroke="#222"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            x(i),
            x(i),
            base + 4.0,
            esc(n)
        );
    }
    s.push_str("</svg>");
    s
}

/// A strip of labelled blocks (layers, sub-accelerators).
pub fn blocks_svg(title: &str, blocks: &[String]) -> String {
    let widths: Vec<f64> = blocks.iter().map(|b| 14.0 + 6.5 * b.len() as f64).collect();
    let width = 8.0 + widths.iter().map(|w| w + 8.0).sum::<f64>();
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="56" viewBox="0 0 {width:.0} 56" font-family="sans-serif" font-size="11"><text x="4" y="12" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let mut at = 8.0;
    for (b, w) in blocks.iter().zip(&widths) {
        let _ = write!(
            s,
            r##"<rect x="{at:.1}" y="20" width="{w:.1}" height="26" rx="4" fill="#eef3fa" stroke="#4a6fa5"/><text x="{:.1}" y="37" text-anchor="middle">{}</text>"##,
            at + w / 2.0,
            esc(b)
        );
        at += w + 8.0;
    }
    s.push_str("</svg>");
    s
}

/// The NB201 cell of a notation `|op~0|+|op~0|op~1|+|...|`.
pub fn nb201_svg(title: &str, notation: &str) -> Option<String> {
    let mut edges = Vec::new();
    for (k, group) in notation.split('+').enumerate() {
        for item in group.split('|').filter(|x| !x.is_empty()) {
            let (op, from) = item.split_once('~')?;
            let from: usize = from.parse().ok()?;
            if op != "none" {
                edges.push((from, k + 1, op.to_string()));
            }
        }
    }
    let nodes: Vec<String> = (0..4).map(|i| i.to_string()).collect();
    Some(cell_svg(title, &nodes, &edges))
}

/// The `(op, input)` pairs of a DARTS list `[('sep_conv_3x3', 0), ...]`.
fn darts_pairs(list: &str) -> Option<Vec<(String, usize)>> {
    let mut out = Vec::new();
    for item in list.split("),").map(|x| x.trim_matches(|c| " []()".contains(c))) {
        if item.is_empty() {
            continue;
        }
        let (op, input) = item.split_once(',')?;
        out.push((op.trim().trim_matches('\'').to_string(), input.trim().parse().ok()?));
    }
    Some(out)
}

/// The normal and reduction cells of a DARTS genotype notation.
pub fn darts_svg(notation: &str) -> Option<String> {
    let list = |key: &str| -> Option<Vec<(String, usize)>> {
        let start = notation.find(&format!("{key}=["))? + key.len() + 1;
        let end = start + notation[start..].find(']')? + 1;
        darts_pairs(&notation[start..end])
    };
    let mut out = String::new();
    for key in ["normal", "reduce"] {
        let pairs = list(key)?;
        let nodes: Vec<String> = ["k-2".to_string(), "k-1".to_string()]
            .into_iter()
            .chain((0..pairs.len() / 2).map(|i| i.to_string()))
            .collect();
        let edges =
            pairs.iter().enumerate().map(|(e, (op, input))| (*input, e / 2 + 2, op.clone())).collect::<Vec<_>>();
        out.push_str(&cell_svg(&format!("{key} cell"), &nodes, &edges));
    }
    Some(out)
}

/// The drawing of an architecture of space `space` (its name) with the
/// space's settings (for co-design spaces, the tasks' kinds), or `None` when
/// the space has no drawing.
pub fn arch_svg(space: &str, settings: &serde_json::Value, notation: &str) -> Option<String> {
    match space {
        "nb201" => nb201_svg("cell", notation),
        "darts" => darts_svg(notation),
        "plain_cnn" => Some(blocks_svg("layers", &notation.split('-').map(String::from).collect::<Vec<_>>())),
        "codesign" => {
            let kinds: Vec<&str> = settings["tasks"]
                .as_array()
                .map(|t| t.iter().filter_map(|x| x["space"]["kind"].as_str()).collect())
                .unwrap_or_default();
            let mut out = String::new();
            let mut task = 0;
            let mut names: Vec<&str> = Vec::new();
            for part in notation.split(" ; ") {
                let (name, value) = part.split_once('=')?;
                match name {
                    "hw" => out
                        .push_str(&blocks_svg("accelerator", &value.split('+').map(String::from).collect::<Vec<_>>())),
                    "map" => out.push_str(&blocks_svg(
                        "mapping (task → sub-accelerator)",
                        &value
                            .split(',')
                            .enumerate()
                            .map(|(i, m)| format!("{} → sub{m}", names.get(i).copied().unwrap_or("task")))
                            .collect::<Vec<_>>(),
                    )),
                    _ => {
                        let kind = kinds.get(task).copied().unwrap_or("");
                        task += 1;
                        names.push(name);
                        let drawn = match kind {
                            "nb201" => nb201_svg(name, value),
                            "darts" => darts_svg(value),
                            _ => None,
                        };
                        out.push_str(&drawn.unwrap_or_else(|| blocks_svg(name, &[value.to_string()])));
                    }
                }
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nb201_cells_draw_their_live_edges() {
        let n = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|";
        let s = nb201_svg("cell", n).expect("drawn");
        assert_eq!(s.matches("<path").count(), 4, "none edges are left out: {s}");
        assert!(s.contains(">nor_conv_3x3<") && s.contains("stroke-dasharray") && s.matches("<circle").count() == 4);
        assert!(nb201_svg("x", "|bad|").is_none());
    }

    #[test]
    fn darts_genotypes_draw_both_cells() {
        let g = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_5x5', 2), \
                 ('dil_conv_3x3', 1), ('max_pool_3x3', 3), ('sep_conv_3x3', 0), ('skip_connect', 4)], normal_concat=[2, 3, 4, 5], \
                 reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), \
                 ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])";
        let s = darts_svg(g).expect("drawn");
        assert_eq!(s.matches("<svg").count(), 2);
        assert_eq!(s.matches("<path").count(), 16);
        assert_eq!(s.matches("<circle").count(), 12);
    }

    #[test]
    fn codesign_draws_tasks_and_hardware_and_text_is_escaped() {
        let settings = serde_json::json!({"tasks": [{"space": {"kind": "nb201"}}, {"space": {"kind": "other"}}]});
        let n = "a=|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2| ; b=<x> ; hw=ws-8x8-gb32k-rf16b-bw4g-500mhz ; map=0,0";
        let s = arch_svg("codesign", &settings, n).expect("drawn");
        assert!(s.contains("ws-8x8-gb32k-rf16b-bw4g-500mhz") && s.contains("&lt;x&gt;") && !s.contains("<x>"));
        assert!(s.contains("b → sub0") && s.contains("a → sub0"));
        assert!(arch_svg("unknown", &settings, "x").is_none());
    }
}
