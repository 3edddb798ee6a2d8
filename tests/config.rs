//! Config that cannot crash the run: every numeric setting out of its bounds (an infinity, a
//! NaN, a value below or above its range) is refused with exit 2 and its key named, every
//! setting at either end of its range runs a sweep without a panic, and a config file that is
//! a device or too large is refused quickly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use auditsweep::aggregate::Aggregates;
use auditsweep::config::{Bounds, Config, NumericSetting};
use auditsweep::detect::HostingLookup;
use auditsweep::normalize::{list_inputs, InputSummary};
use auditsweep::ranges::HostingRanges;
use auditsweep::sweep::{self, SweepRequest};

fn sweep_with_config(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditsweep"))
        .args(["sweep", "--config"])
        .arg(config)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/aws"))
        .output()
        .expect("the binary runs")
}

/// The default config as TOML, with `key` (dotted, `name[k]` for a list element) set.
fn with_value(key: &str, value: toml::Value) -> toml::Value {
    let mut root = toml::Value::try_from(Config::default()).expect("the config serializes");
    set(&mut root, key, value);
    root
}

fn set(root: &mut toml::Value, key: &str, new: toml::Value) {
    let (path, index) = match key.split_once('[') {
        Some((path, index)) => (path, index.trim_end_matches(']').parse::<usize>().ok()),
        None => (key, None),
    };
    let mut value = root;
    for part in path.split('.') {
        value = value
            .get_mut(part)
            .unwrap_or_else(|| panic!("{key}: no {part} in the default config"));
    }
    match index {
        Some(k) => value.as_array_mut().expect("a list")[k] = new,
        None => *value = new,
    }
}

fn number(setting: &NumericSetting, value: f64) -> toml::Value {
    if setting.integer && value.is_finite() && value.fract() == 0.0 {
        toml::Value::Integer(value as i64)
    } else {
        toml::Value::Float(value)
    }
}

/// Values outside the setting's bounds, and whether the parser can read each into the key's
/// type (a negative or fractional number for a count is a TOML type error, named by its line).
fn bad_values(setting: &NumericSetting) -> Vec<(toml::Value, bool)> {
    let Bounds {
        min,
        max,
        min_open,
        max_open,
    } = setting.bounds;
    let below = if min_open { min } else { min - 1.0 };
    let above = if max_open { max } else { max * 2.0 + 1.0 };
    let mut values = vec![
        (toml::Value::Float(f64::INFINITY), !setting.integer),
        (toml::Value::Float(f64::NEG_INFINITY), !setting.integer),
        (toml::Value::Float(f64::NAN), !setting.integer),
        (number(setting, above), true),
    ];
    values.push((number(setting, below), !setting.integer || below >= 0.0));
    values
}

#[test]
fn every_numeric_setting_out_of_bounds_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auditsweep.toml");
    let settings = Config::default().numeric_settings();
    assert!(settings.len() > 50, "{} settings", settings.len());
    for setting in &settings {
        for (value, readable) in bad_values(setting) {
            let text = toml::to_string(&with_value(&setting.key, value.clone())).unwrap();
            std::fs::write(&path, &text).unwrap();
            let output = sweep_with_config(&path);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{} = {value}: {stderr}",
                setting.key
            );
            // A value the type can hold is checked against the bounds, which name the dotted
            // key; one it cannot is a parse error quoting the line, which names the leaf.
            let leaf = setting.key.rsplit('.').next().unwrap();
            let leaf = leaf.split('[').next().unwrap();
            let named = if readable { setting.key.as_str() } else { leaf };
            assert!(
                stderr.contains(named) && stderr.contains("auditsweep.toml"),
                "{} = {value}: {stderr}",
                setting.key
            );
            assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        }
    }
}

#[test]
fn the_dispersion_that_panicked_statrs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auditsweep.toml");
    std::fs::write(&path, "[provisioning.count_prior]\ndispersion = 5e307\n").unwrap();
    let output = sweep_with_config(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("provisioning.count_prior.dispersion must be from 0 to 1e6, got 5e307"),
        "{stderr}"
    );
}

/// The demo world, read once for every config the bounds test judges it with.
static DEMO: LazyLock<(Aggregates, InputSummary, HostingRanges)> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (ranges, _) = HostingRanges::load_dir(&root.join("fixtures/ip-ranges")).unwrap();
    let paths: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|cloud| root.join("fixtures/demo").join(cloud))
        .collect();
    let (aggregates, summary) = sweep::read(&list_inputs(&paths), &ranges, 0);
    (aggregates, summary, ranges)
});

/// Moves every setting other than `key` into its bounds (a bound may depend on another
/// setting: `min_history_days` on `baseline_days`).
fn repair(mut root: toml::Value, key: &str) -> Config {
    for _ in 0..20 {
        let config: Config = root.clone().try_into().expect("a config");
        let outside: Vec<NumericSetting> = config
            .numeric_settings()
            .into_iter()
            .filter(|s| s.key != key && !s.bounds.contains(s.value))
            .collect();
        if outside.is_empty() {
            return config;
        }
        for setting in outside {
            let value = setting.value.clamp(setting.bounds.min, setting.bounds.max);
            set(&mut root, &setting.key, number(&setting, value));
        }
    }
    panic!("{key}: no valid config around it");
}

/// The nearest value inside the bounds to each end.
fn ends(bounds: Bounds) -> [f64; 2] {
    let nudge = |x: f64| x.abs().max(1.0) * 1e-9;
    let low = if bounds.min_open {
        bounds.min + nudge(bounds.min)
    } else {
        bounds.min
    };
    let high = if bounds.max_open {
        bounds.max - nudge(bounds.max)
    } else {
        bounds.max
    };
    [low, high]
}

#[test]
fn every_setting_at_either_end_of_its_range_runs() {
    let (aggregates, summary, ranges) = &*DEMO;
    let mut judged = 0;
    for setting in Config::default().numeric_settings() {
        for value in ends(setting.bounds) {
            let table = with_value(&setting.key, number(&setting, value));
            let config = repair(table, &setting.key);
            assert!(
                config.validate().is_ok(),
                "{} = {value}: {:?}",
                setting.key,
                config.validate()
            );
            let request = SweepRequest {
                paths: Vec::new(),
                tenant: None,
                since: None,
                until: None,
                config: &config,
                hosting: ranges as &dyn HostingLookup,
                threads: 1,
                out: None,
            };
            let (report, _) = sweep::judge(&request, aggregates.clone(), summary.clone());
            let json = serde_json::to_value(&report).unwrap();
            assert!(json["findings"].is_array(), "{} = {value}", setting.key);
            judged += 1;
        }
    }
    assert!(judged > 100, "{judged} configs judged");
}

#[test]
fn a_device_a_directory_or_a_huge_file_is_no_config() {
    let started = std::time::Instant::now();
    let output = sweep_with_config(Path::new("/dev/urandom"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/dev/urandom") && stderr.contains("not a config file"),
        "{stderr}"
    );
    assert!(started.elapsed().as_secs() < 10, "refused before reading");

    let dir = tempfile::tempdir().unwrap();
    let output = sweep_with_config(dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("a directory, not a config file"));

    let huge = dir.path().join("huge.toml");
    let line = "# a comment line of a config file that goes on and on\n";
    std::fs::write(&huge, line.repeat(2 * 1024 * 1024 / line.len())).unwrap();
    let output = sweep_with_config(&huge);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("huge.toml") && stderr.contains("larger than 1024 KiB"),
        "{stderr}"
    );

    // A config just under the cap is read.
    let big = dir.path().join("big.toml");
    std::fs::write(&big, line.repeat(1000 * 1024 / line.len())).unwrap();
    assert!(Config::load(&big).is_ok());
}

/// The key as docs/configuration.md writes it: list elements as `[k]`, the count priors'
/// fields as `PRIOR.field`.
fn documented_key(key: &str) -> String {
    let key = match key.split_once('[') {
        Some((name, _)) => format!("{name}[k]"),
        None => key.to_string(),
    };
    const PRIORS: [&str; 5] = [
        "provisioning.count_prior.",
        "provisioning.sporadic_size_prior.",
        "provisioning.first_use_size_prior.",
        "provisioning.cold_size_prior.",
        "credential_stuffing.d24_prior.",
    ];
    match PRIORS.iter().find_map(|prior| key.strip_prefix(prior)) {
        Some(field) => format!("PRIOR.{field}"),
        None => key,
    }
}

#[test]
fn every_range_is_documented() {
    let docs = include_str!("../docs/configuration.md");
    for setting in Config::default().numeric_settings() {
        let key = documented_key(&setting.key);
        let row = docs
            .lines()
            .find(|line| line.starts_with(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("docs/configuration.md has no row for {key}"));
        // A bound that is another setting is written as that setting's key.
        let depends = ["min_history_days", "min_cold_history_days", "survival"]
            .iter()
            .any(|name| key.contains(name));
        if !depends {
            assert!(
                row.contains(&format!("| {}", setting.bounds)),
                "{key}: docs say {row}, the code {}",
                setting.bounds
            );
        }
    }
}
