// What the app says on GitHub outside the progress comment.

export function notAllowedMessage(login: string, label: string): string {
  return `Thanks for the label, @${login}. ai-fix only starts work when someone with write access to this repository adds the \`${label}\` label, so nothing was started.`;
}

export function notAllowListedMessage(login: string, label: string): string {
  return `Thanks for the label, @${login}. In this repository ai-fix only starts work for the people and teams listed in \`allowed_users\` and \`allowed_teams\` of \`.github/ai-fix.yml\`, so the \`${label}\` label did not start anything.`;
}

export function badConfigMessage(error: string): string {
  return `ai-fix could not start: the configuration file \`.github/ai-fix.yml\` is invalid.\n\n${error}\n\nFix the file and add the label again.`;
}

export function revisionLimitMessage(max: number): string {
  return `ai-fix has revised this pull request ${max} times, the limit set by \`revisions.max_per_pr\` in \`.github/ai-fix.yml\`; a human needs to take it from here.`;
}
