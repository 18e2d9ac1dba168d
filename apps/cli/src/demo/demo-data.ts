import { zipf } from '../zipf';

export type DemoProduct = Readonly<{ sku: string; name: string; priceCents: number; stock: number }>;
export type DemoFollow = Readonly<{ followerId: string; followeeId: string }>;
export type DemoPost = Readonly<{ authorId: string; text: string }>;
/** What a user does to a post, by the post's index in `posts`. */
export type DemoReaction = Readonly<{ kind: 'like' | 'share'; post: number; userId: string } | { kind: 'comment'; post: number; userId: string; text: string }>;
export type DemoView = Readonly<{ videoId: string; viewerId?: string; at: string }>;
export type DemoOrder = Readonly<{ customerId: string; items: readonly Readonly<{ sku: string; quantity: number }>[]; paymentToken: string; shippingCountry: string }>;

export type DemoDataSet = Readonly<{
  run: string;
  adminId: string;
  products: readonly DemoProduct[];
  /** By popularity: the first is followed by every other user. */
  users: readonly string[];
  follows: readonly DemoFollow[];
  posts: readonly DemoPost[];
  reactions: readonly DemoReaction[];
  videos: readonly string[];
  views: readonly DemoView[];
  orders: readonly DemoOrder[];
  /** A user whose feed has something in it: they follow the most popular author, and the most users of all who do. */
  reader: string;
}>;

/** Sizes at scale 1; each has a floor, so a small scale still shows every part. */
const SIZES = { products: [50, 3], users: [30, 3], posts: [100, 3], views: [3_000, 10], orders: [20, 2] } as const;
/** The same seed, the same names, graph and texts: runs differ only in their ids. */
const SEED = 20_240_611;
/** Views are spread over the hours before the run, so a video's hourly buckets show a curve. */
const VIEWS_SPREAD_MS = 6 * 3_600_000;
const MAX_LIKES_PER_POST = 12;
export const DECLINED_TOKEN = 'tok_chargeDeclined';

/**
 * A realistic, modest data set for `tidings demo`: a catalog with prices and stock, users with
 * a follow graph whose follower counts fall off as Zipf's law, posts with likes, comments and
 * shares, views of a few videos (Zipf too) and orders, one paid with a declined card and one
 * with a card the gateway fails twice before approving. Every id ends in `-<run>`, so a second
 * run on the same deployment adds a data set of its own. Pure: `now` dates the views.
 */
export function demoDataSet(options: Readonly<{ run: string; scale: number; now: Date }>): DemoDataSet {
  const { run, scale, now } = options;
  const random = seededRandom(SEED);
  const size = (name: keyof typeof SIZES) => Math.max(SIZES[name][1], Math.round(SIZES[name][0] * scale));
  const products = catalog(size('products'), run, random);
  const users = people(size('users'), run);
  const follows = followGraph(users, random);
  const posts = postsOf(size('posts'), users, products, random);
  const videos = VIDEO_TITLES.map((title) => `${slug(title)}-${run}`);
  return {
    run,
    adminId: `demo-admin-${run}`,
    products,
    users,
    follows,
    posts,
    reactions: reactionsTo(posts, users, random),
    videos,
    views: viewsOf(size('views'), videos, users, now, random),
    orders: ordersOf(size('orders'), users, products, random),
    reader: readerOf(users, follows),
  };
}

/** Numbers in [0, 1) from a seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)];

/** Item i is ITEMS[i % 50]; later rounds come in colours, then in marks: "Slate Espresso Cup Mk 2". */
function catalog(count: number, run: string, random: () => number): DemoProduct[] {
  return Array.from({ length: count }, (_, index) => {
    const [item, basePriceCents] = ITEMS[index % ITEMS.length];
    const round = Math.floor(index / ITEMS.length);
    const mark = Math.floor((round - 1) / COLOURS.length);
    const name = round === 0 ? item : `${COLOURS[(round - 1) % COLOURS.length]} ${item}${mark ? ` Mk ${mark + 1}` : ''}`;
    // Prices end in .99, within a quarter of the item's usual price.
    const priceCents = Math.max(99, Math.round((basePriceCents * (0.75 + random() * 0.5)) / 100) * 100 - 1);
    return { sku: `${slug(name)}-${run}`, name, priceCents, stock: 25 + Math.floor(random() * 176) };
  });
}

function people(count: number, run: string): string[] {
  return Array.from({ length: count }, (_, index) => {
    const round = Math.floor(index / FIRST_NAMES.length);
    return `${FIRST_NAMES[index % FIRST_NAMES.length]}${round ? round + 1 : ''}-${run}`;
  });
}

/** The user of rank r is followed by round((n-1)/(r+1)) others, drawn at random: the first by everyone. */
function followGraph(users: readonly string[], random: () => number): DemoFollow[] {
  return users.flatMap((followeeId, rank) =>
    distinctOthers(users, followeeId, Math.round((users.length - 1) / (rank + 1)), random).map((followerId) => ({ followerId, followeeId })),
  );
}

/** `count` (at most users - 1) different users, none of them `except`. */
function distinctOthers(users: readonly string[], except: string, count: number, random: () => number): string[] {
  const chosen = new Set<string>();
  while (chosen.size < count) {
    const user = pick(users, random);
    if (user !== except) chosen.add(user);
  }
  return [...chosen];
}

/** Popular users post more (Zipf); the first post is the most popular user's, so every follower's feed has one. */
function postsOf(count: number, users: readonly string[], products: readonly DemoProduct[], random: () => number): DemoPost[] {
  const author = zipf(users.length, random);
  return Array.from({ length: count }, (_, index) => ({
    authorId: users[index === 0 ? 0 : author()],
    text: pick(POST_TEMPLATES, random)({ product: pick(products, random).name, random }),
  }));
}

/** A few likes on most posts and many on some; a comment or three on about a third; a share on one in ten. */
function reactionsTo(posts: readonly DemoPost[], users: readonly string[], random: () => number): DemoReaction[] {
  const others = users.length - 1;
  return posts.flatMap(({ authorId }, post): DemoReaction[] => {
    const likes = distinctOthers(users, authorId, Math.round(random() ** 2 * Math.min(others, MAX_LIKES_PER_POST)), random);
    const comments = random() < 0.35 ? distinctOthers(users, authorId, Math.min(others, 1 + Math.floor(random() * 3)), random) : [];
    const shares = random() < 0.1 ? distinctOthers(users, authorId, 1, random) : [];
    return [
      ...likes.map((userId) => ({ kind: 'like' as const, post, userId })),
      ...comments.map((userId) => ({ kind: 'comment' as const, post, userId, text: pick(COMMENTS, random) })),
      ...shares.map((userId) => ({ kind: 'share' as const, post, userId })),
    ];
  });
}

/** Zipf over the videos; seven in ten by a signed-in viewer; over the six hours before `now`. */
function viewsOf(count: number, videos: readonly string[], users: readonly string[], now: Date, random: () => number): DemoView[] {
  const video = zipf(videos.length, random);
  return Array.from({ length: count }, () => {
    const videoId = videos[video()];
    const viewerId = random() < 0.7 ? pick(users, random) : undefined;
    const at = new Date(now.getTime() - Math.floor(random() * VIEWS_SPREAD_MS)).toISOString();
    return viewerId ? { videoId, viewerId, at } : { videoId, at };
  });
}

/** One to three products each; the second order's card is declined, the third's gateway fails twice first. */
function ordersOf(count: number, users: readonly string[], products: readonly DemoProduct[], random: () => number): DemoOrder[] {
  return Array.from({ length: count }, (_, index) => ({
    customerId: pick(users, random),
    items: distinctProducts(products, Math.min(products.length, 1 + Math.floor(random() * 3)), random).map(({ sku }) => ({ sku, quantity: 1 + Math.floor(random() * 2) })),
    paymentToken: index === 1 ? DECLINED_TOKEN : index === 2 ? 'tok_unavailable_2' : 'tok_visa',
    shippingCountry: pick(COUNTRIES, random),
  }));
}

function distinctProducts(products: readonly DemoProduct[], count: number, random: () => number): DemoProduct[] {
  const chosen = new Set<DemoProduct>();
  while (chosen.size < count) chosen.add(pick(products, random));
  return [...chosen];
}

function readerOf(users: readonly string[], follows: readonly DemoFollow[]): string {
  const following = new Map<string, number>();
  for (const { followerId } of follows) following.set(followerId, (following.get(followerId) ?? 0) + 1);
  return users.slice(1).reduce((best, user) => ((following.get(user) ?? 0) > (following.get(best) ?? 0) ? user : best));
}

const ITEMS: readonly (readonly [string, number])[] = [
  ['Espresso Cup', 1_400], ['Pour-Over Kettle', 4_900], ['Ceramic Dripper', 2_600], ['Burr Grinder', 12_900], ['Travel Mug', 2_900],
  ['Linen Apron', 3_400], ['Cast Iron Skillet', 5_900], ['Chef Knife', 8_900], ['Bamboo Cutting Board', 3_200], ['Salad Bowl', 2_800],
  ['Wool Throw', 8_900], ['Reading Lamp', 6_400], ['Desk Organizer', 2_400], ['Notebook A5', 1_200], ['Fountain Pen', 4_500],
  ['Canvas Tote', 1_900], ['Leather Wallet', 5_500], ['Merino Beanie', 3_500], ['Rain Jacket', 14_900], ['Trail Socks', 1_600],
  ['Running Shoes', 11_900], ['Yoga Mat', 4_200], ['Water Bottle', 2_200], ['Bike Light', 3_900], ['Camping Mug', 1_800],
  ['Headphones', 17_900], ['Phone Stand', 1_500], ['USB-C Cable', 1_300], ['Mechanical Keyboard', 13_900], ['Wireless Mouse', 4_900],
  ['Desk Plant', 2_700], ['Scented Candle', 2_300], ['Photo Frame', 1_900], ['Wall Clock', 4_400], ['Doormat', 2_900],
  ['Board Game', 3_900], ['Jigsaw Puzzle', 2_200], ['Watercolour Set', 3_600], ['Sketchbook', 1_700], ['Kite', 2_900],
  ['Sunglasses', 7_900], ['Beach Towel', 3_100], ['Picnic Blanket', 4_700], ['Herb Garden Kit', 3_300], ['Tea Sampler', 2_500],
  ['Olive Oil', 1_900], ['Dark Chocolate', 600], ['Honey Jar', 1_100], ['Hot Sauce', 900], ['Granola', 800],
];
const COLOURS = ['Slate', 'Sage', 'Sand', 'Rust', 'Ink', 'Fog', 'Moss', 'Clay', 'Ocean', 'Plum'] as const;
const FIRST_NAMES = [
  'ada', 'bob', 'chen', 'dara', 'emil', 'fatima', 'gus', 'hana', 'ivan', 'jo', 'kofi', 'lena', 'mateo', 'nia', 'omar',
  'priya', 'quinn', 'rosa', 'sven', 'tara', 'uma', 'viktor', 'wren', 'xia', 'yusuf', 'zoe', 'amir', 'bea', 'cyrus', 'dina',
] as const;
const COUNTRIES = ['US', 'DE', 'NL', 'FR', 'GB', 'SE', 'JP', 'CA', 'ES', 'IT'] as const;
const VIDEO_TITLES = ['Cat Plays Piano', 'Ten Minute Pasta', 'Sourdough From Scratch', 'Desk Setup Tour', 'Trail Run at Dawn', 'Origami Crane', 'Espresso Tamping 101', 'Fixing a Bike Chain'] as const;
const COMMENTS = ['Love this!', 'Same here.', 'Where did you get it?', 'Great find.', 'Mine arrived yesterday!', 'Not convinced, tbh.', 'Saving this for later.', 'Ha, so true.'] as const;

type Template = (fill: Readonly<{ product: string; random: () => number }>) => string;
const POST_TEMPLATES: readonly Template[] = [
  ({ product, random }) => `Just unboxed the ${product}. ${pick(['Worth every cent.', 'Smaller than I expected.', 'Already my favourite thing.', 'We will see how it holds up.'], random)}`,
  ({ product, random }) => `Has anyone tried the ${product}? Thinking of getting one for ${pick(['my sister', 'the office', 'the holidays', 'myself, honestly'], random)}.`,
  ({ product, random }) => `Day ${2 + Math.floor(random() * 60)} with the ${product}: ${pick(['still great', 'no regrets', 'it grew on me', 'mixed feelings'], random)}.`,
  ({ product }) => `The ${product} is back in stock. Grabbed two before they go again.`,
  ({ random }) => `Morning run done, ${3 + Math.floor(random() * 18)} km. Coffee next.`,
  ({ random }) => `Hot take: ${pick(['pineapple belongs on pizza', 'tabs beat spaces', 'winter is the best season', 'breakfast for dinner is underrated'], random)}.`,
  ({ random }) => `Weekend plans: ${pick(['a long hike', 'finally fixing the bike', 'baking bread', 'absolutely nothing'], random)}. Suggestions welcome!`,
  ({ product }) => `Gift idea for anyone stuck: the ${product}. Nobody has ever been disappointed.`,
];
