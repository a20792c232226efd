# bash completion for faultbox (installed as
# $datadir/bash-completion/completions/faultbox).
_faultbox() {
  local cur prev cmd
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  cmd=${COMP_WORDS[1]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "test check list merge init diff replay run lab star doctor help --help --version" -- "$cur"))
    return
  fi
  case $prev in
    --format)
      if [ "$cmd" = star ]; then COMPREPLY=(); else COMPREPLY=($(compgen -W "text json" -- "$cur")); fi
      return ;;
    --show) COMPREPLY=($(compgen -W "all fail" -- "$cur")); return ;;
    --explore) COMPREPLY=($(compgen -W "all sample" -- "$cur")); return ;;
    --protocol) COMPREPLY=($(compgen -W "http tcp" -- "$cur")); return ;;
    --output|--junit|--html|--normalize|--shiviz|--bundle) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --test|--seed|--runs|--explore-index|-j|--jobs|--shard|--name|--port|--fault|--env|--service|--run|--memory-max|--pids-max|--bind|--rootfs)
      COMPREPLY=(); return ;;
  esac
  local flags files
  local test_flags="--test --seed --runs --jobs -j --shard --show --format --output --junit --html --dry-run --keep-workdir --verbose -v --no-progress --normalize --shiviz --debug --check-determinism --max-events --bundle --no-bundle --virtual-time --explore --explore-index"
  case $cmd in
    test) flags=$test_flags; files=star ;;
    replay) flags=$test_flags; files=any ;;
    check) flags="--strict"; files=star ;;
    list) flags="--test --shard --format"; files=star ;;
    merge) flags="--format --output --junit --html"; files=json ;;
    init) flags="--name --port --protocol --output"; files=any ;;
    diff) files=any ;;
    run) flags="--fault --seed --env"; files=any ;;
    lab) flags="--service --bind --run --memory-max --pids-max --rootfs --keep-workdir --verbose" ;;
    star) flags="--dialect=faultbox --dialect=standard --test-builtins"; files=star ;;
    doctor) flags="--format" ;;
    help) COMPREPLY=($(compgen -W "test check list merge init diff replay run lab star doctor builtins" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [ "$files" = any ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [ -n "$files" ]; then
    COMPREPLY=($(compgen -o plusdirs -f -X "!*.$files" -- "$cur"))
  fi
}
complete -o filenames -F _faultbox faultbox
