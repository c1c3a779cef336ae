#!/usr/bin/env bash
# Regenerates the seed corpora fuzz/corpus/ingest and fuzz/corpus/job from tests/corpus/* and
# the extra cases below. Deterministic: rerunning it gives the same bytes.
#
#   ingest seed: episodes.csv 0xFF assessments.csv
#   job seed:    episodes.csv 0xFF assessments.csv 0xFF attendance.csv 0xFF config.toml 0xFF options
#                (options: byte 0 period, byte 1 flags; see fuzz_targets/job.rs)
#
# Usage: fuzz/seed.sh   (from anywhere; writes only under fuzz/corpus/)
set -euo pipefail
cd "$(dirname "$0")"
CASES=../tests/corpus
rm -rf corpus/ingest corpus/job
mkdir -p corpus/ingest corpus/job
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

ff() { printf '\377'; }
# cat_or_empty FILE: the file's bytes, nothing when it does not exist.
cat_or_empty() { if [ -e "$1" ]; then cat "$1"; fi; }

# ingest_seed NAME DIR: DIR/episodes.csv 0xFF DIR/assessments.csv (without the 0xFF when
# assessments.csv is missing: the target then supplies a small valid one).
ingest_seed() {
  local name=$1 d=$2
  {
    cat_or_empty "$d/episodes.csv"
    if [ -e "$d/assessments.csv" ]; then ff; cat "$d/assessments.csv"; fi
  } >"corpus/ingest/$name"
}

# job_seed NAME DIR [PERIOD_BYTE [FLAGS_BYTE [FOLLOWUP]]]: the three files, DIR/config.toml,
# and the options; a file missing from DIR is left out through the flags.
job_seed() {
  local name=$1 d=$2 period=${3:-0} flags=${4:-0} followup=${5:-}
  [ -e "$d/episodes.csv" ] || flags=$((flags | 2))
  [ -e "$d/assessments.csv" ] || flags=$((flags | 4))
  [ -e "$d/attendance.csv" ] || flags=$((flags | 8))
  {
    cat_or_empty "$d/episodes.csv"; ff
    cat_or_empty "$d/assessments.csv"; ff
    cat_or_empty "$d/attendance.csv"; ff
    cat_or_empty "$d/config.toml"
    if [ "$period" != 0 ] || [ "$flags" != 0 ] || [ -n "$followup" ]; then
      ff
      printf "\\$(printf '%03o' "$period")\\$(printf '%03o' "$flags")%s" "$followup"
    fi
  } >"corpus/job/$name"
}

both() { ingest_seed "$1" "$2"; job_seed "$@"; }

# 1. Every case of tests/corpus that has input files. `closed_stderr` and `synth_too_big` have
# none (they test the process, not the data). `empty_period` asks for 2030Q1: period byte 5
# (2030) is as empty. `threads_*` test a flag the job target cannot vary (the pool is global).
for d in "$CASES"/*/; do
  name=$(basename "$d")
  [ -e "$d/episodes.csv" ] || [ -e "$d/assessments.csv" ] || continue
  # Arguments the options can express: --no-suppress (flag bit 0) and --followup NAME.
  args=$(grep -E '^args *=' "$d/expect.toml" || true)
  flags=0; followup=
  case $args in *'"--no-suppress"'*) flags=1 ;; esac
  case $args in *'"--followup"'*) followup=$(sed -E 's/.*"--followup", *"([^"]*)".*/\1/' <<<"$args") ;; esac
  case $name in
    empty_period) both "$name" "$d" 5 ;;
    enormous_field) ;; # 2 MB: replaced by a smaller enormous field below
    *) both "$name" "$d" 0 "$flags" "$followup" ;;
  esac
  # A case stopped by the quarantine share reaches the tables when the config allows it all.
  if [ ! -e "$d/config.toml" ] && grep -q max_quarantined_share "$d/expect.toml"; then
    mkdir -p "$T/share/$name"
    cp "$d"/*.csv "$T/share/$name"
    printf '[input]\nmax_quarantined_share = 1.0\n' >"$T/share/$name/config.toml"
    job_seed "${name}_share1" "$T/share/$name"
  fi
done

BASE=$CASES/valid_baseline
EP_HEADER=$(head -n1 "$BASE/episodes.csv")
AS_HEADER=$(head -n1 "$BASE/assessments.csv")
AT_HEADER=$(head -n1 "$BASE/attendance.csv")

# new_case NAME: an empty case folder in $T (files written by the caller).
new_case() { mkdir -p "$T/$1"; echo "$T/$1"; }

# 2. Line ends: bare CR and CRLF in every file.
d=$(new_case cr_only)
for f in episodes assessments attendance; do tr '\n' '\r' <"$BASE/$f.csv" >"$d/$f.csv"; done
both cr_only "$d"
d=$(new_case crlf)
for f in episodes assessments attendance; do sed 's/$/\r/' "$BASE/$f.csv" >"$d/$f.csv"; done
both crlf "$d"

# 3. NUL bytes inside a value and as a whole line.
d=$(new_case nul_in_value)
cp "$BASE"/*.csv "$d"
sed -i '2s/site_01/site\x0001/' "$d/episodes.csv"
printf 'E3,GAD7,2025-04-01,1\0\n\0\n' >>"$d/assessments.csv"
both nul_in_value "$d"

# 4. An enormous field (800 kB) in `site`, which the page lists but the default report does
# not group by; and a long label (4 kB) in `track`, which every chart draws. (An enormous
# grouping label is slow to draw: 800 kB in `track` takes about 9 s in a release build, so it
# is not a seed of the job target.)
d=$(new_case enormous_field_800k)
cp "$BASE/assessments.csv" "$BASE/attendance.csv" "$d"
{
  echo "$EP_HEADER"
  printf 'E1,C1,'; head -c 800000 /dev/zero | tr '\0' 's'
  echo ',mental_health,CBT,in_person,2025-01-06,2025-02-14,completed,26-34,female,white'
  tail -n +3 "$BASE/episodes.csv"
} >"$d/episodes.csv"
both enormous_field_800k "$d"
d=$(new_case long_track_label)
cp "$BASE/assessments.csv" "$BASE/attendance.csv" "$d"
{
  echo "$EP_HEADER"
  printf 'E1,C1,site_01,'; head -c 4000 /dev/zero | tr '\0' 't'
  echo ',CBT,in_person,2025-01-06,2025-02-14,completed,26-34,female,white'
  tail -n +3 "$BASE/episodes.csv"
} >"$d/episodes.csv"
both long_track_label "$d"

# 5. Quoted fields holding newlines (LF, CRLF, CR), quotes and commas, in every file.
d=$(new_case quoted_newlines)
{
  echo "$EP_HEADER"
  printf '"E1",C1,"site\n01","mental_health",CBT,in_person,2025-01-06,2025-02-14,completed,26-34,female,"white, ""other"""\n'
  printf 'E2,C2,"site\r\n01",substance_use,MI,telehealth,2025-02-03,2025-03-28,left_early,35-44,male,black\n'
  printf 'E3,C3,"site\r02",mental_health,DBT,hybrid,2025-03-03,,,18-25,female,hispanic\n'
} >"$d/episodes.csv"
{ echo "$AS_HEADER"; printf 'E1,"PHQ9\n",2025-01-06,18\nE1,PHQ9,"2025-02-13",9\nE2,DAYS_USED,2025-02-03,"2\n0"\n'; } >"$d/assessments.csv"
{ echo "$AT_HEADER"; printf 'E1,2025-01-06,"group\nwork",180\n'; } >"$d/attendance.csv"
both quoted_newlines "$d"

# 6. A UTF-8 byte-order mark on every file.
d=$(new_case bom)
for f in episodes assessments attendance; do { printf '\357\273\277'; cat "$BASE/$f.csv"; } >"$d/$f.csv"; done
both bom "$d"

# 7. Header-only files: attendance alone, then all three.
d=$(new_case header_only_attendance)
cp "$BASE"/*.csv "$d"; echo "$AT_HEADER" >"$d/attendance.csv"
both header_only_attendance "$d"
d=$(new_case header_only_all)
echo "$EP_HEADER" >"$d/episodes.csv"; echo "$AS_HEADER" >"$d/assessments.csv"; echo "$AT_HEADER" >"$d/attendance.csv"
both header_only_all "$d"
d=$(new_case header_without_newline)
printf '%s' "$EP_HEADER" >"$d/episodes.csv"; printf '%s' "$AS_HEADER" >"$d/assessments.csv"; printf '%s' "$AT_HEADER" >"$d/attendance.csv"
both header_without_newline "$d"

# 8. The margin label `All` as a track, a modality (lower case) and, through the config, a site.
d=$(new_case track_all)
cp "$BASE"/*.csv "$d"; sed -i '2s/mental_health/All/' "$d/episodes.csv"
both track_all "$d"
d=$(new_case modality_all)
cp "$BASE"/*.csv "$d"; sed -i '3s/,MI,/,all,/' "$d/episodes.csv"
both modality_all "$d"

# 9. Dates at calendar edges: leap days, year ends, the first and last representable years,
# and days that do not exist.
d=$(new_case calendar_edges)
{
  echo "$EP_HEADER"
  echo 'E1,C1,site_01,mental_health,CBT,in_person,2024-02-29,2024-12-31,completed,26-34,female,white'
  echo 'E2,C2,site_01,substance_use,MI,telehealth,2000-02-29,2000-03-01,left_early,35-44,male,black'
  echo 'E3,C3,site_02,mental_health,DBT,hybrid,9999-12-01,9999-12-31,completed,18-25,female,hispanic'
  echo 'E4,C4,site_02,mental_health,CBT,hybrid,0001-01-01,0001-01-02,completed,18-25,female,hispanic'
  echo 'E5,C5,site_02,mental_health,CBT,hybrid,2025-12-31,2026-01-01,completed,18-25,female,hispanic'
  echo 'E6,C6,site_02,mental_health,CBT,hybrid,1970-01-01,1969-12-31,completed,18-25,female,hispanic'
} >"$d/episodes.csv"
{
  echo "$AS_HEADER"
  echo 'E1,PHQ9,2024-02-29,20'; echo 'E1,PHQ9,2024-12-31,3'
  echo 'E2,DAYS_USED,2000-02-29,30'; echo 'E2,DAYS_USED,2000-03-01,0'
  echo 'E3,GAD7,9999-12-01,21'; echo 'E3,GAD7,9999-12-31,0'
  echo 'E4,PHQ9,0001-01-01,27'; echo 'E4,PHQ9,0001-01-02,0'
  echo 'E5,PHQ9,2025-12-31,10'; echo 'E5,PHQ9,2026-01-01,10'
} >"$d/assessments.csv"
{ echo "$AT_HEADER"; echo 'E1,2024-02-29,group,180'; echo 'E3,9999-12-31,group,1440'; echo 'E4,0001-01-01,group,60'; } >"$d/attendance.csv"
printf '[input]\nmax_quarantined_share = 1.0\n' >"$d/config.toml"
both calendar_edges "$d"
job_seed calendar_edges_no_suppress "$d" 0 1
d=$(new_case impossible_dates)
cp "$BASE"/*.csv "$d"
{
  echo "$EP_HEADER"
  echo 'E1,C1,site_01,mental_health,CBT,in_person,2023-02-29,1900-02-29,completed,26-34,female,white'
  echo 'E2,C2,site_01,substance_use,MI,telehealth,2025-04-31,2025-13-01,left_early,35-44,male,black'
  echo 'E3,C3,site_02,mental_health,DBT,hybrid,2025-00-10,2025-01-00,,18-25,female,hispanic'
  echo 'E4,C4,site_02,mental_health,DBT,hybrid,10000-01-01,-0001-12-31,,18-25,female,hispanic'
  echo 'E5,C5,site_02,mental_health,DBT,hybrid, 2025-01-06 ,2025-1-6,,18-25,female,hispanic'
} >"$d/episodes.csv"
printf '[input]\nmax_quarantined_share = 1.0\n' >"$d/config.toml"
both impossible_dates "$d"
d=$(new_case date_format_config)
{
  echo "$EP_HEADER"
  echo 'E1,C1,site_01,mental_health,CBT,in_person,02/29/2024,12/31/2024,completed,26-34,female,white'
  echo 'E2,C2,site_01,substance_use,MI,telehealth,12/31/9999,01/01/0001,left_early,35-44,male,black'
} >"$d/episodes.csv"
{ echo "$AS_HEADER"; echo 'E1,PHQ9,02/29/2024,18'; echo 'E1,PHQ9,12/31/2024,9'; echo 'E2,DAYS_USED,02/30/2024,1'; } >"$d/assessments.csv"
{ echo "$AT_HEADER"; echo 'E1,02/29/2024,group,180'; } >"$d/attendance.csv"
printf '[input]\ndate_format = "%%m/%%d/%%Y"\nmax_quarantined_share = 1.0\n' >"$d/config.toml"
job_seed date_format_config "$d"

# 10. A cohort large enough to pass small-cell suppression (24 paired episodes in one cell,
# every kind of instrument, attendance), so that every statistic, table and chart is computed;
# seeded with each period and follow-up option.
d=$(new_case cohort)
{
  echo "$EP_HEADER"
  for i in $(seq 1 30); do
    track=mental_health; mod=CBT
    if [ $((i % 5)) = 0 ]; then track=substance_use; mod=MI; fi
    m=$(( (i % 9) + 1 )); dd=$(( (i % 27) + 1 ))
    admit=$(printf '2025-%02d-%02d' "$m" "$dd")
    dis=$(printf '2025-%02d-%02d' $((m + 2)) "$dd")
    reason=completed; [ $((i % 4)) = 0 ] && reason=left_early
    [ $((i % 13)) = 0 ] && { dis=; reason=; }
    echo "E$i,C$i,site_0$((i % 3 + 1)),$track,$mod,in_person,$admit,$dis,$reason,26-34,female,white"
  done
} >"$d/episodes.csv"
{
  echo "$AS_HEADER"
  for i in $(seq 1 30); do
    m=$(( (i % 9) + 1 )); dd=$(( (i % 27) + 1 ))
    admit=$(printf '2025-%02d-%02d' "$m" "$dd")
    dis=$(printf '2025-%02d-%02d' $((m + 2)) "$dd")
    echo "E$i,PHQ9,$admit,$(( 10 + i % 17 ))"
    echo "E$i,PHQ9,$dis,$(( (i * 7) % 20 ))"
    echo "E$i,GAD7,$admit,$(( 8 + i % 13 ))"
    echo "E$i,GAD7,$dis,$(( (i * 5) % 15 ))"
    echo "E$i,DAYS_USED,$admit,$(( (i * 11) % 31 ))"
    echo "E$i,DAYS_USED,$dis,$(( (i * 3) % 4 ))"
    echo "E$i,AUDITC,$admit,$(( i % 13 ))"
    [ $((i % 3)) = 0 ] || echo "E$i,AUDITC,$dis,$(( (i * 2) % 6 ))"
  done
} >"$d/assessments.csv"
{
  echo "$AT_HEADER"
  for i in $(seq 1 30); do
    m=$(( (i % 9) + 1 )); dd=$(( (i % 27) + 1 ))
    for w in 0 1 2 3; do
      echo "E$i,$(printf '2025-%02d-%02d' "$m" $(( dd % 25 + 1 + w ))),group,$(( 120 + (i * w * 17) % 120 ))"
    done
    echo "E$i,$(printf '2025-%02d-%02d' "$m" "$dd"),individual,50"
  done
} >"$d/attendance.csv"
both cohort "$d"
job_seed cohort_2025 "$d" 1
job_seed cohort_2025Q1 "$d" 2
job_seed cohort_2024Q4 "$d" 3
job_seed cohort_range "$d" 4
job_seed cohort_no_suppress "$d" 0 1
job_seed cohort_no_attendance "$d" 0 8
job_seed cohort_followup_unknown "$d" 0 0 day90
cat >"$d/config.toml" <<'EOF'
[input]
missing_values = ["NA", "NULL"]
max_quarantined_share = 0.5

[labels.track]
MH = "mental_health"

[pairing]
baseline_window = [-14, 14]

[followup.day90]
anchor = "admit"
target_days = 90
window = [-30, 30]
min_gap_days = 7

[[instruments]]
id = "PHQ9"
reliable_change = 5
reliable_change_source = "local validation study"

[[instruments]]
id = "WEIGHT_KG"
name = "Body weight"
min = 20
max = 300
direction = "higher_is_better"
kind = "symptom"
reliable_change_sd = 4.0
reliable_change_reliability = 0.9

[report]
group_by = ["site", "track", "modality"]
suppress_below = 3
dose_hours = 9.0
EOF
job_seed cohort_config "$d"
job_seed cohort_config_day90 "$d" 1 0 day90
printf 'E1,WEIGHT_KG,2025-02-02,80\nE1,WEIGHT_KG,2025-04-02,75\nE2,WEIGHT_KG,2025-03-03,NA\n' >>"$d/assessments.csv"
job_seed cohort_config_custom_instrument "$d"

# 11. Config values at the limits the config accepts: day offsets of 100 years, a score range
# of ±1e9 with scores at both ends, suppress_below at u64::MAX.
d=$(new_case config_limits)
cp "$BASE/episodes.csv" "$BASE/attendance.csv" "$d"
{ cat "$BASE/assessments.csv"; printf 'E1,X,2025-01-06,-1000000000\nE1,X,2025-02-13,1000000000\nE2,X,2025-02-03,1000000000\nE2,X,2025-03-27,-1000000000\n'; } >"$d/assessments.csv"
cat >"$d/config.toml" <<'EOF'
[pairing]
baseline_window = [-36525, 36525]

[followup.discharge]
anchor = "discharge"
window = [-36525, 36525]
min_gap_days = 36525

[followup.century]
anchor = "admit"
target_days = 36525
window = [-36525, 36525]
min_gap_days = 0

[[instruments]]
id = "X"
min = -1e9
max = 1e9
direction = "higher_is_better"
reliable_change = 1e9
caseness = -1e9

[report]
suppress_below = 18446744073709551615
EOF
job_seed config_limits "$d" 0 1
job_seed config_limits_century "$d" 0 1 century

# 12. The bundled config example's mappings on a renamed export.
d=$(new_case mapped_columns)
sed '1s/episode_id/Episode Number/; 1s/admit_date/Admission Date/; 1s/discharge_date/Discharge Date/; 1s/track/Program/' "$BASE/episodes.csv" | sed 's/mental_health/MH/' >"$d/episodes.csv"
sed '1s/instrument/Measure/; 1s/score/Total Score/; s/PHQ9/PHQ-9/' "$BASE/assessments.csv" >"$d/assessments.csv"
cp "$BASE/attendance.csv" "$d"
cat >"$d/config.toml" <<'EOF'
[columns.episodes]
episode_id = "Episode Number"
admit_date = "Admission Date"
discharge_date = "Discharge Date"
track = "Program"

[columns.assessments]
instrument = "Measure"
score = "Total Score"

[labels.track]
MH = "mental_health"

[labels.instrument]
"PHQ-9" = "PHQ9"
EOF
job_seed mapped_columns "$d" 0 1

du -sh corpus/ingest corpus/job
ls corpus/ingest | wc -l
ls corpus/job | wc -l
