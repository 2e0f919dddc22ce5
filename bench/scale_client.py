#!/usr/bin/env python3
# See scale.sh.  The timed parts of bench/scale-run.sh, with libpq through
# psycopg2 (one process, no psql started per login):
#
#   scale_client.py logins SOCKETDIR USER COUNT PORT...
#       COUNT logins on each PORT, in turn (one on the first, one on the
#       second, ..., then again), each a new connection, SELECT 1 and
#       close; one line per login: "PORT ms".
#   scale_client.py reads SOCKETDIR PORT COUNT SQL
#       one connection as postgres; SQL read COUNT times (all its rows
#       fetched), after one read to warm the session's caches; one line
#       per read: "ms rows".
import sys
import time

import psycopg2


def connect(sockdir, port, user):
    return psycopg2.connect(host=sockdir, port=port, user=user, dbname="postgres")


def logins(sockdir, user, count, ports):
    for _ in range(count):
        for port in ports:
            t0 = time.perf_counter()
            con = connect(sockdir, port, user)
            cur = con.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
            con.close()
            print(port, "%.3f" % ((time.perf_counter() - t0) * 1000.0), flush=True)


def reads(sockdir, port, count, sql):
    con = connect(sockdir, port, "postgres")
    con.autocommit = True
    cur = con.cursor()
    cur.execute(sql)
    cur.fetchall()
    for _ in range(count):
        t0 = time.perf_counter()
        cur.execute(sql)
        rows = cur.fetchall()
        print("%.3f %d" % ((time.perf_counter() - t0) * 1000.0, len(rows)), flush=True)
    con.close()


def main(argv):
    if len(argv) >= 5 and argv[1] == "logins":
        logins(argv[2], argv[3], int(argv[4]), argv[5:])
    elif len(argv) == 6 and argv[1] == "reads":
        reads(argv[2], argv[3], int(argv[4]), argv[5])
    else:
        sys.stderr.write("usage: scale_client.py logins SOCKETDIR USER COUNT PORT... | "
                         "reads SOCKETDIR PORT COUNT SQL\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
