/* The floating-point workload: the classic five-body (Sun, Jupiter, Saturn, Uranus, Neptune) simulation
 * in double precision, written here from the physics (symplectic Euler steps, energy before and after).
 * Every operation is plain SSE2 scalar double arithmetic plus sqrt, so an exact emulator reproduces the
 * printed energies digit for digit.
 *
 *   bench-nbody STEPS */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NBODY_PI 3.141592653589793
#define NBODY_SOLAR_MASS (4 * NBODY_PI * NBODY_PI)
#define NBODY_DAYS_PER_YEAR 365.24
#define NBODY_N 5

typedef struct Body {
    double x, y, z, vx, vy, vz, mass;
} Body;

static Body nbody_bodies[NBODY_N] = {
    { 0, 0, 0, 0, 0, 0, NBODY_SOLAR_MASS },
    { 4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
      1.66007664274403694e-03 * NBODY_DAYS_PER_YEAR, 7.69901118419740425e-03 * NBODY_DAYS_PER_YEAR,
      -6.90460016972063023e-05 * NBODY_DAYS_PER_YEAR, 9.54791938424326609e-04 * NBODY_SOLAR_MASS },
    { 8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
      -2.76742510726862411e-03 * NBODY_DAYS_PER_YEAR, 4.99852801234917238e-03 * NBODY_DAYS_PER_YEAR,
      2.30417297573763929e-05 * NBODY_DAYS_PER_YEAR, 2.85885980666130812e-04 * NBODY_SOLAR_MASS },
    { 1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
      2.96460137564761618e-03 * NBODY_DAYS_PER_YEAR, 2.37847173959480950e-03 * NBODY_DAYS_PER_YEAR,
      -2.96589568540237556e-05 * NBODY_DAYS_PER_YEAR, 4.36624404335156298e-05 * NBODY_SOLAR_MASS },
    { 1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
      2.68067772490389322e-03 * NBODY_DAYS_PER_YEAR, 1.62824170038242295e-03 * NBODY_DAYS_PER_YEAR,
      -9.51592254519715870e-05 * NBODY_DAYS_PER_YEAR, 5.15138902046611451e-05 * NBODY_SOLAR_MASS },
};

/* Give the Sun the momentum that makes the system's total zero, so it stays near the origin. */
static void nbody_offset_momentum(Body *b)
{
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < NBODY_N; i++) {
        px += b[i].vx * b[i].mass;
        py += b[i].vy * b[i].mass;
        pz += b[i].vz * b[i].mass;
    }
    b[0].vx = -px / NBODY_SOLAR_MASS;
    b[0].vy = -py / NBODY_SOLAR_MASS;
    b[0].vz = -pz / NBODY_SOLAR_MASS;
}

static double nbody_energy(const Body *b)
{
    double e = 0;
    for (int i = 0; i < NBODY_N; i++) {
        e += 0.5 * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < NBODY_N; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].mass * b[j].mass / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static void nbody_advance(Body *b, double dt)
{
    for (int i = 0; i < NBODY_N; i++) {
        for (int j = i + 1; j < NBODY_N; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * sqrt(d2));
            b[i].vx -= dx * b[j].mass * mag;
            b[i].vy -= dy * b[j].mass * mag;
            b[i].vz -= dz * b[j].mass * mag;
            b[j].vx += dx * b[i].mass * mag;
            b[j].vy += dy * b[i].mass * mag;
            b[j].vz += dz * b[i].mass * mag;
        }
    }
    for (int i = 0; i < NBODY_N; i++) {
        b[i].x += dt * b[i].vx;
        b[i].y += dt * b[i].vy;
        b[i].z += dt * b[i].vz;
    }
}

int main(int argc, char **argv)
{
    long steps = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    nbody_offset_momentum(nbody_bodies);
    printf("%.9f\n", nbody_energy(nbody_bodies));
    for (long i = 0; i < steps; i++) {
        nbody_advance(nbody_bodies, 0.01);
    }
    printf("%.9f\n", nbody_energy(nbody_bodies));
    return 0;
}
