//! The closed word lists the personalization world draws from, and the labels of the
//! NextQuill-style prompt (§2.3 of the NextQuill report) that the tokenizer must know.
//!
//! Every word is lowercase ASCII; texts are words and `.` separated by single spaces.

/// Product categories (one word each; an item's title is `"{brand} {category}"`).
pub const CATEGORIES: [&str; 12] = [
    "kettle", "lamp", "backpack", "mug", "chair", "clock", "fan", "jacket", "toaster", "blender",
    "radio", "tent",
];

/// Brands; each category has [`ITEMS_PER_CATEGORY`] items of distinct brands.
pub const BRANDS: [&str; 8] = [
    "acme", "nova", "zenit", "orbit", "polar", "delta", "apex", "vista",
];

/// Colours of item descriptions.
pub const COLOURS: [&str; 8] = [
    "red", "blue", "green", "black", "white", "grey", "pink", "brown",
];

/// Materials of item descriptions.
pub const MATERIALS: [&str; 6] = ["steel", "wood", "glass", "cotton", "plastic", "bamboo"];

/// Items per category: the world has `CATEGORIES.len() * ITEMS_PER_CATEGORY` = 48 items.
pub const ITEMS_PER_CATEGORY: usize = 4;

/// Aspects a user writes about (the latent focus); none depends on the category.
pub const ASPECTS: [&str; 6] = ["price", "design", "quality", "comfort", "size", "weight"];

/// Positive adjectives; each user has two favourites.
pub const ADJECTIVES: [&str; 12] = [
    "solid", "lovely", "superb", "neat", "decent", "handy", "elegant", "sturdy", "smooth",
    "reliable", "stylish", "clever",
];

/// Filler words: content no history predicts (drawn independently per review when
/// `filler_words > 0`), standing in for the bulk of a real review.
pub const FILLERS: [&str; 32] = [
    "box", "arrived", "today", "shipping", "was", "fast", "honestly", "anyway", "my", "son",
    "likes", "colour", "manual", "missing", "setup", "took", "minutes", "store", "online", "gift",
    "sister", "kitchen", "office", "winter", "summer", "weekend", "daily", "use", "old", "one",
    "broke", "again",
];

/// Sign-off phrases; each user always ends with theirs.
pub const SIGNOFFS: [&str; 10] = [
    "cheers from ohio",
    "would buy again",
    "thanks for reading",
    "happy days",
    "my two cents",
    "highly recommended",
    "take care all",
    "peace out",
    "stay cool friends",
    "worth every cent",
];

/// The word for ratings 1..=5 (index `rating - 1`).
pub const RATING_WORDS: [&str; 5] = ["awful", "poor", "okay", "good", "great"];

/// Largest history length a prompt shows (NextQuill's `max_his_len`): the labels go up to
/// `[Review 8]`.
pub const MAX_HISTORY: usize = 8;

/// Labels of the prompt scaffolding, as the prompt renderer prints them (the `[Review i]`
/// labels for `i` in `1..=MAX_HISTORY` come on top).
pub const PROMPT_LABELS: [&str; 9] = [
    "Item Title:",
    "Item Description:",
    "[User's Past Reviews]:",
    "None",
    "Review Rating:",
    "Review Title:",
    "Review Text:",
    "Output Review Rating:",
    "Output Review Title:",
];
