// Every string of the merge, export and erase features in one place, for the translations of
// the dashboard to take over.

export const TEXT = {
  actions: "Customer actions",
  merge: "Merge with…",
  export: "Export",
  erase: "Erase",
  cancel: "Cancel",
  close: "Close",

  mergeTitle: (name) => `Merge a duplicate into ${name}`,
  mergeIntro:
    "Pick the other customer record of the same person. Everything it holds moves here, and it no longer exists on its own.",
  search: "Find the duplicate",
  searchHint: "Name, phone, email or platform id",
  matches: "Matching customers",
  searching: "Searching…",
  noMatches: "No other customer matches.",
  searchFailed: (message) => `The search failed: ${message}`,
  candidate: (name, platforms) => `${name} (${platforms})`,
  previewTitle: (source, target) => `What moves from ${source} to ${target}`,
  previewFailed: (message) => `The customer could not be loaded: ${message}`,
  identities: "Chats",
  notes: (n) => `${n} note${n === 1 ? "" : "s"}`,
  conversations: (n) => `${n} conversation${n === 1 ? "" : "s"}`,
  escalations: (n) => `${n} escalation${n === 1 ? "" : "s"}`,
  filledFields: "Fields this customer has empty, taken from the duplicate",
  fields: {
    phone: "Phone",
    email: "Email",
    language: "Language",
    country: "Country",
    location: "Location",
    agent_instructions: "Agent instructions",
  },
  addedTags: "Tags added",
  nothingElse: "No field or tag changes.",
  keptNote: (target) =>
    `Where both have a value, ${target}'s is kept. The AI profile and average sentiment are computed again over all conversations.`,
  confirmMerge: "Merge",
  merging: "Merging…",
  merged: (source, target) => `${source} was merged into ${target}.`,
  mergeFailed: (message) => `Not merged: ${message}`,

  exporting: "Preparing the export…",
  exported: "The export was downloaded.",
  exportFailed: (message) => `Not exported: ${message}`,

  eraseTitle: (name) => `Erase ${name}`,
  eraseWarning:
    "Everything the system holds about this customer is deleted in every service: the profile, notes, conversations and their messages, escalations, summaries and the AI profile. This cannot be undone.",
  eraseMerged: "Customers merged into this one are erased with it.",
  typeName: (name) => `Type the customer's name, ${name}, to confirm`,
  confirmErase: "Erase everywhere",
  erasing: "Erasing…",
  eraseFailed: (message) => `Not erased: ${message}`,
  pending: "Erasing: each service deletes what it holds. A service that is down finishes when it is back.",
  done: (when) => `Erased everywhere (${when}).`,
  progressFailed: (message) => `The progress could not be read: ${message}. It continues on the server.`,
  backToCustomers: "Back to all customers",

  goneErased: "This customer was erased.",
  goneErasedDetail: "Everything the system held about them has been deleted.",
  mergedAway: "That customer was merged into this one.",
};
