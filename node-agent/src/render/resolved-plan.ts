/**
 * The backend-neutral resolved plan: what both renderers (nftables and iptables) consume,
 * so they cannot disagree on semantics, only on syntax. Produced per node (NodeContext,
 * node-context.ts) and per Service (service-plan.ts); resolvePlan (plan.ts) assembles the
 * whole NatPlan for the iptables renderer and tests.
 */
import type { NodeNatPlanSpec, ServiceNatPlanSpec } from '@natplan/api';
import type { IPFamily } from './model.js';

export interface NodeIdentity { nodeName: string; zone?: string }

export interface RenderInput {
  node: NodeNatPlanSpec;
  services: { namespace: string; name: string; spec: ServiceNatPlanSpec }[];
  identity: NodeIdentity;
  options?: {
    masqueradeBit?: number;
    /**
     * Service CIDRs used when the NodeNatPlan names none (its `spec.serviceCIDRs`, which
     * the operator fills from `--service-cidrs`, wins; node-context.ts). Traffic to an
     * address in them that no Service holds is dropped, as kube-proxy does; with neither,
     * it is left alone (trace.test.ts, "unallocated address in the Service CIDR" and
     * "without Service CIDRs").
     */
    serviceCIDRs?: string[];
  };
}

export type L4Protocol = 'tcp' | 'udp' | 'sctp';
export interface Backend { address: string; port: number }

/** One Service port in one IP family, with everything decided. */
export interface ServicePortNat {
  /** 16 hex digits naming this Service port's objects; derived from, but not revealing, its names. */
  id: string;
  family: IPFamily;
  protocol: L4Protocol;
  port: number;
  /** `namespace/name:port` when every part is a plain DNS label, for comments; else undefined. */
  label: string | undefined;
  clusterIP: string | undefined;
  nodePort: number | undefined;
  externalIPs: string[];
  loadBalancerIPs: string[];
  affinityTimeoutSeconds: number | undefined;
  /**
   * undefined: no firewall. An array: only these sources may reach the LB IPs — the
   * Service's ranges of this family plus its own LB IPs (see withOwnAddresses).
   */
  loadBalancerSourceRanges: string[] | undefined;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Endpoints for Cluster-policy traffic, topology filter applied. */
  clusterEndpoints: Backend[];
  /** This node's endpoints for Local-policy traffic. */
  localEndpoints: Backend[];
  /** Some endpoint anywhere may carry traffic: no usable endpoint then means DROP, not REJECT. */
  hasAnyEndpoints: boolean;
  /** The Service's namespace and name, for resolving exposures; never rendered. */
  owner: { namespace: string; name: string };
}

export interface ExposureNat {
  family: IPFamily;
  address: string;
  port: number;
  protocol: L4Protocol;
  target: ServicePortNat | undefined;
  preserveClientAddress: boolean;
  sourceRanges: string[] | undefined;
}

/**
 * How this family recognises traffic from the node's pods (NodeNatPlan localTraffic,
 * kube-proxy's local detectors): by source CIDR, by the interface it arrived on (a bridge,
 * or every interface whose name starts with a prefix), or not at all.
 */
export type LocalTraffic =
  | { kind: 'none' }
  | { kind: 'cidrs'; cidrs: string[] }
  | { kind: 'interface'; name: string; prefix: boolean };

export interface FamilyPlan {
  family: IPFamily;
  /**
   * Something of this family is to be enforced: a Service port, an exposure or a Service
   * CIDR (whose unallocated addresses are dropped). A single-stack node's other family has
   * none, and its table then hooks no packets.
   */
  active: boolean;
  services: ServicePortNat[];
  exposures: ExposureNat[];
  /** 'all-local' when the plan names no node-port addresses at all (kube-proxy's default). */
  nodePortAddresses: string[] | 'all-local';
  /** Decides the eTP Local short-circuit and which cluster-IP traffic is masqueraded. */
  localTraffic: LocalTraffic;
  serviceCIDRs: string[];
  /** Every cluster IP of this family: allocated addresses inside the Service CIDRs. */
  clusterIPs: string[];
}

export interface NatPlan {
  families: Record<IPFamily, FamilyPlan>;
  masqueradeAll: boolean;
  /** The single mark bit (as a mask) that asks postrouting to masquerade. */
  masqueradeMark: number;
  /** Inputs that were skipped, one sentence each; the rest of the plan is still rendered. */
  problems: string[];
  counts: { services: number; endpoints: number; exposures: number };
}


/** An exposure of the NodeNatPlan, parsed, before its target Service port is known. */
export interface ExposureSpec {
  /** Position in the NodeNatPlan: among exposures, the first claimant of a frontend wins. */
  index: number;
  family: IPFamily;
  address: string;
  port: number;
  protocol: L4Protocol;
  servicePort: number;
  /** groupKey of the Service it targets (the policy's namespace and the Service name). */
  service: string;
  preserveClientAddress: boolean;
  sourceRanges: string[] | undefined;
}

/** What every Service's render reads from the node: resolved once per NodeNatPlan and identity. */
export interface NodeContext {
  identity: NodeIdentity;
  masqueradeAll: boolean;
  masqueradeMark: number;
  families: Record<IPFamily, Omit<FamilyPlan, 'active' | 'services' | 'exposures' | 'clusterIPs'>>;
  exposures: ExposureSpec[];
  /** Exposures by the groupKey of the Service they target. */
  exposuresByService: Map<string, ExposureSpec[]>;
  /** Problems with the node plan and options, one sentence each. */
  problems: string[];
  /** Canonical text of all of the above: equal texts render every Service the same. */
  key: string;
}

/** One Service's parts as the input lists them (part 0 carries the frontends). */
export type ServiceEntries = RenderInput['services'];
