//! A process's CPU time and peak memory, from Linux's `/proc`.

use std::sync::LazyLock;

/// User plus system CPU time so far, in clock ticks (`/proc/<pid>/stat`, utime + stime).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    stat_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Peak resident set size so far, in KiB (`VmHWM` of `/proc/<pid>/status`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_peak_rss_kib(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Clock ticks per second (`getconf CLK_TCK`): 100 on every usual Linux, asked all the same.
pub static TICKS_PER_SECOND: LazyLock<u64> = LazyLock::new(|| {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
});

/// The command name (field 2) is in parentheses and may hold spaces, so the fields are
/// counted after its closing parenthesis: state is field 3, utime 14 and stime 15.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, fields) = stat.rsplit_once(')')?;
    let mut fields = fields.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn status_peak_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_add_utime_and_stime_after_the_command_name() {
        let stat = "4242 (auth (me) x) S 1 4242 4242 0 -1 4194560 812 0 0 0 37 5 0 0 20 0 3 0";
        assert_eq!(stat_cpu_ticks(stat), Some(42));
        assert_eq!(stat_cpu_ticks("4242 (truncated) S 1"), None);
    }

    #[test]
    fn peak_rss_is_the_vmhwm_line() {
        let status = "Name:\tauth-me\nVmPeak:\t  20000 kB\nVmHWM:\t    7168 kB\nVmRSS:\t 7000 kB\n";
        assert_eq!(status_peak_rss_kib(status), Some(7168));
        assert_eq!(status_peak_rss_kib("Name:\tx\n"), None);
    }
}
