# What the pg_budget extension is in a database, as one text to compare:
# each member object (pg_describe_object over pg_depend) with its
# definition (a function's arguments, result, attributes and symbol, a
# view's columns and query), its comment, its ACL and its initial
# privileges (pg_init_privs, which pg_dump leaves out of a dump), one line
# each, sorted.  Two databases with the same listing have the same objects
# and privileges, and a dump of either restores to the same.
package PgbExtension;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(extension_listing);

my $listing_sql = q{
WITH m AS (
	SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
	  FROM pg_depend d
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_budget')
), acl AS (
	SELECT m.object, 'acl' AS kind, p.proacl AS a FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	UNION ALL
	SELECT m.object, 'acl', c.relacl FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	UNION ALL
	SELECT m.object, 'init', i.initprivs FROM m JOIN pg_init_privs i
		ON i.classoid = m.classid AND i.objoid = m.objid AND i.objsubid = 0
)
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
	SELECT 'member ' || object AS line FROM m
	UNION ALL
	SELECT 'function ' || p.oid::regprocedure || ' returns ' || pg_get_function_result(p.oid)
		   || ' args ' || pg_get_function_arguments(p.oid)
		   || ' ' || p.provolatile::text || p.proparallel::text || p.proisstrict::text || ' ' || (SELECT lanname FROM pg_language WHERE oid = p.prolang)
		   || ' ' || coalesce(p.probin, '') || ':' || p.prosrc
		   || ' owner ' || p.proowner::regrole
		   || ' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
	  FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	UNION ALL
	SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text
		   || ' columns ' || (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
							   FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped)
		   || ' query ' || coalesce(pg_get_viewdef(c.oid), '')
		   || ' owner ' || c.relowner::regrole
		   || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '')
	  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	UNION ALL
	SELECT acl.kind || ' ' || acl.object || ' '
		   || CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE e.grantee::regrole::text END
		   || ' ' || e.privilege_type || CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
		   || ' by ' || e.grantor::regrole
	  FROM acl, aclexplode(acl.a) e
	UNION ALL
	SELECT acl.kind || ' ' || acl.object || ' default' FROM acl WHERE acl.a IS NULL
) l};

# extension_listing($node, $db): the listing, or '' without the extension
sub extension_listing
{
	my ($node, $db) = @_;
	return $node->safe_psql($db, $listing_sql);
}

1;
