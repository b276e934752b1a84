import t from 'tap';
import { restoreLists } from '../../src/refresh/restore-lists.js';
import type { ScrubRules } from '../../src/refresh/scrub.js';

const block = (name: string, type: string, sql: string) => `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: app\n--\n\n${sql}\n\n\n`;

// users and notes rewritten, audit truncated, orders untouched; orders and notes reference users
const RULES = { tables: { notes: { body: { set: '' } }, users: { email: { fake: 'email' } }, audit: 'truncate' } } as unknown as ScrubRules;
const POST_LIST = [
  '3232; 2606 16407 CONSTRAINT public users users_pkey app',
  '3233; 1259 16437 INDEX public orders_user_id app',
  '3234; 2606 16442 FK CONSTRAINT public orders orders_user_fkey app',
  '3235; 2606 16443 FK CONSTRAINT public notes notes_user_fkey app',
  '3236; 1259 16444 INDEX public audit_at app',
];
const DUMP = {
  toc: [
    ';',
    '210; 1259 16390 TABLE public users app',
    '211; 1259 16391 TABLE public orders app',
    '212; 1259 16392 TABLE public notes app',
    '213; 1259 16393 TABLE public audit app',
    '3300; 0 16390 TABLE DATA public users app',
    '3301; 0 16391 TABLE DATA public orders app',
    '3302; 0 16392 TABLE DATA public notes app',
    '3303; 0 16393 TABLE DATA public audit app',
    ...POST_LIST,
  ].join('\n'),
  postList: POST_LIST.join('\n'),
  postSql: [
    block('users users_pkey', 'CONSTRAINT', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_pkey PRIMARY KEY (id);'),
    block('orders_user_id', 'INDEX', 'CREATE INDEX orders_user_id ON public.orders USING btree (user_id);'),
    block('orders orders_user_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);'),
    block('notes notes_user_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.notes\n    ADD CONSTRAINT notes_user_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);'),
    block('audit_at', 'INDEX', 'CREATE INDEX audit_at ON public.audit USING btree (at);'),
  ].join(''),
};

t.test("what each pg_restore of the pipeline restores, and the groups its tasks build", async (t) => {
  const l = restoreLists(DUMP, RULES);
  t.same(l.list.split('\n').filter((x) => /TABLE DATA/.test(x)), ['3301; 0 16391 TABLE DATA public orders app'], "the main list: only the untouched tables' data");
  t.notMatch(l.list, /FK CONSTRAINT/, 'the plain foreign keys are added apart');
  t.same(l.rewritten.split('\n').filter((x) => /^\d/.test(x)), ['3300; 0 16390 TABLE DATA public users app', '3302; 0 16392 TABLE DATA public notes app'], 'the rewritten tables\' data');
  t.same(l.keys.map((k) => `${k.table} -> ${k.references}`), ['public.orders -> public.users', 'public.notes -> public.users']);
  t.same(l.others, ['public.orders']);
  t.same(l.own, ['public.users', 'public.audit'], 'the touched tables with indexes or constraints of their own');
  t.same(l.loadOrder, ['public.users', 'public.notes'], 'a table the keys reference loads first');
  t.same(l.uniques.map((k) => k.name), ['users_pkey'], 'the primary key built by ironclad on its unique index');
  t.same(l.listOf(['public.users']), [], "so it is not in users' list for pg_restore");
  t.same(l.listOf(['public.audit']), ['3236; 1259 16444 INDEX public audit_at app']);
  t.notOk(l.restBuildsKeys);
});
