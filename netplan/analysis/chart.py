"""frontier.html: an offline, self-contained cost–coverage chart (inline SVG and vanilla JS).

No library and no network: the page is one file holding its data (the frontier table as JSON),
its style and ~150 lines of script that draw the curve, the marginal cost per extra percentage
point between neighbouring points, the seed plans' targets (data/targets.toml) and the budgets as
reference lines with each budget's max-coverage plan as a diamond; hovering a point shows its sites per tier, clicking it opens its run's map.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd


def preset_targets(stream: str, indicator: str) -> list[dict[str, Any]]:
    """The seed plans' targets of ``stream``'s ``indicator`` (data/targets.toml): name, value, title."""
    from netplan._paths import data_file
    from netplan.streams import read_toml

    path = data_file("targets.toml")
    if not path.exists():
        return []
    out = []
    for name, p in read_toml(path).get("presets", {}).items():
        v = p.get(stream, {}).get(indicator) if isinstance(p.get(stream), dict) else None
        if v is not None:
            out.append({"name": name, "value": float(v), "title": str(p.get("title", name))})
    return out


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return None if v is pd.NA else v


def frontier_html(df: pd.DataFrame, *, title: str, budgets: Sequence[float] = ()) -> str:
    """The page for a frontier table (``netplan.analysis.curve.COLUMNS``)."""
    stream = str(df["stream"].iloc[0]) if len(df) else ""
    indicator = str(df["indicator"].iloc[0]) if len(df) else ""
    rows = [{k: _clean(v) for k, v in r.items()} for r in df.to_dict("records")]
    data = {"rows": rows, "refs": preset_targets(stream, indicator), "budgets": [float(b) for b in budgets],
            "stream": stream, "indicator": indicator}
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    head = (f"<!DOCTYPE html><html lang=zh><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width'><link rel=icon href='data:,'>"
            f"<title>{html.escape(title)} — frontier</title><style>{_CSS}</style></head><body>")
    body = (f"<h1>成本—覆盖率曲线 Cost–coverage frontier</h1><p class=sub>{html.escape(title)} · "
            f"<b>{html.escape(stream)}</b> · {html.escape(indicator)}</p>"
            "<div id=wrap><svg id=chart role=img aria-label='cost against coverage'></svg>"
            "<div id=tip hidden></div></div>"
            "<p class=note>Cost: the evaluated yearly cost (annualised capital + operating + transport + "
            "per-tonne items such as baling and storage), CNY/yr (万元 = 10⁴ CNY); gap: the siting "
            "solve's gap on its objective. "
            "Bars: marginal cost per extra percentage point between neighbouring points. Dashed "
            "vertical lines: seed plans' targets; horizontal: budgets, with a diamond at the plan of "
            "the most coverage each buys (max-coverage model). Hover a point for its sites "
            "per tier; click it to open its map.</p>"
            "<h2>Points</h2><table id=rows></table>")
    return head + body + f"<script id=data type='application/json'>{blob}</script><script>{_JS}</script></body></html>"


_CSS = """
body{font:14px system-ui,sans-serif;margin:16px 24px;color:#222}h1{font-size:20px;margin:0}
.sub{color:#555;margin:4px 0 12px}#wrap{position:relative;max-width:980px}svg{width:100%;height:auto;
background:#fff;border:1px solid #ddd}.note{color:#555;max-width:980px;font-size:12px}
#tip{position:absolute;background:#fffffb;border:1px solid #999;padding:6px 8px;font-size:12px;
pointer-events:none;box-shadow:0 1px 4px #0003;max-width:320px}table{border-collapse:collapse;
font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}td.s{text-align:left;
max-width:420px}tr.bad td{background:#fdecea}.pt{cursor:pointer}.pt:hover{stroke-width:3}
"""

_JS = r"""
(function(){
const D=JSON.parse(document.getElementById('data').textContent);
const NS='http://www.w3.org/2000/svg',svg=document.getElementById('chart'),tip=document.getElementById('tip');
const W=960,H=560,L=90,R=30,T=20,B1=360,B2=470,BB=520;svg.setAttribute('viewBox','0 0 '+W+' '+H);
const good=r=>r.run&&r.total_cost_cny_yr!=null&&r.achieved!=null&&!/target missed|failed|infeasible/.test(r.status||'');
const curve=D.rows.filter(r=>!/^budget/.test(r.status||'')&&good(r)).sort((a,b)=>a.target-b.target);
const bpts=D.rows.filter(r=>/^budget/.test(r.status||'')&&good(r));
const wan=v=>(v/1e4).toLocaleString('en',{maximumFractionDigits:1})+' 万元';
const pct=v=>v==null?'–':(100*v).toFixed(1)+' %';
function el(n,a,p){const e=document.createElementNS(NS,n);for(const k in a)e.setAttribute(k,a[k]);(p||svg).appendChild(e);return e;}
function txt(x,y,s,a){const e=el('text',Object.assign({x:x,y:y,'font-size':11,fill:'#333'},a||{}));e.textContent=s;return e;}
const xs=curve.concat(bpts).map(r=>r.achieved).concat(D.refs.map(r=>r.value));
let x0=Math.min.apply(null,xs.concat([1])),x1=Math.max.apply(null,xs.concat([0]));
if(!isFinite(x0)||x1-x0<0.02){x0=Math.max(0,(x0||0.5)-0.05);x1=Math.min(1,(x1||1)+0.05);}
x0=Math.max(0,Math.floor(x0*20)/20-0.025);x1=Math.min(1.0,Math.ceil(x1*20)/20)+0.015;
const ys=curve.concat(bpts).map(r=>r.total_cost_cny_yr).concat(D.budgets);
let y0=Math.min.apply(null,ys.concat([Infinity])),y1=Math.max.apply(null,ys.concat([-Infinity]));
if(!isFinite(y0)){y0=0;y1=1;}const pad=(y1-y0)*0.1||Math.abs(y1)*0.1||1;y0-=pad;y1+=pad;
const X=v=>L+(v-x0)/(x1-x0)*(W-L-R),Y=v=>B1-(v-y0)/(y1-y0)*(B1-T);
function nice(a,b,n){const s=Math.pow(10,Math.floor(Math.log10((b-a)/n))),m=[1,2,5,10].find(k=>(b-a)/(s*k)<=n)*s;const t=[];for(let v=Math.ceil(a/m)*m;v<=b+1e-12;v+=m)t.push(v);return t;}
el('rect',{x:L,y:T,width:W-L-R,height:B1-T,fill:'none',stroke:'#bbb'});
for(const v of nice(x0,x1,10)){el('line',{x1:X(v),x2:X(v),y1:T,y2:B1,stroke:'#eee'});txt(X(v),B1+14,(100*v).toFixed(0)+'%',{'text-anchor':'middle'});txt(X(v),BB+14,(100*v).toFixed(0)+'%',{'text-anchor':'middle'});}
for(const v of nice(y0,y1,6)){el('line',{x1:L,x2:W-R,y1:Y(v),y2:Y(v),stroke:'#eee'});txt(L-6,Y(v)+4,wan(v),{'text-anchor':'end'});}
txt(L+(W-L-R)/2,B1+30,'achieved '+D.indicator+' ('+D.stream+')',{'text-anchor':'middle','font-size':12});
txt(14,T+(B1-T)/2,'cost CNY/yr',{transform:'rotate(-90 14 '+(T+(B1-T)/2)+')','text-anchor':'middle','font-size':12});
D.refs.forEach((r,i)=>{if(r.value<x0||r.value>x1)return;el('line',{x1:X(r.value),x2:X(r.value),y1:T,y2:BB,stroke:'#c60','stroke-dasharray':'5 4'});
 const right=X(r.value)>W-R-200,t=txt(X(r.value)+(right?-3:3),T+12+12*i,r.name+' '+pct(r.value),{fill:'#c60','text-anchor':right?'end':'start'});el('title',{},t).textContent=r.title;});
D.budgets.forEach(b=>{if(b<y0||b>y1)return;el('line',{x1:L,x2:W-R,y1:Y(b),y2:Y(b),stroke:'#06c','stroke-dasharray':'2 3'});txt(W-R-4,Y(b)-4,'budget '+wan(b),{fill:'#06c','text-anchor':'end'});});
if(curve.length>1)el('polyline',{points:curve.map(r=>X(r.achieved)+','+Y(r.total_cost_cny_yr)).join(' '),fill:'none',stroke:'#2a7','stroke-width':2});
// marginal cost per extra percentage point between neighbours
const mc=[];for(let i=1;i<curve.length;i++){const a=curve[i-1],b=curve[i],dp=100*(b.achieved-a.achieved);if(dp>1e-6)mc.push({a:a,b:b,v:(b.total_cost_cny_yr-a.total_cost_cny_yr)/dp});}
const mmax=Math.max.apply(null,mc.map(m=>Math.abs(m.v)).concat([1]));
el('line',{x1:L,x2:W-R,y1:BB,y2:BB,stroke:'#999'});txt(L-6,B2+4,wan(mmax),{'text-anchor':'end'});txt(L-6,BB+4,'0',{'text-anchor':'end'});
txt(L+4,B2-6,'marginal cost per extra point (CNY/yr per %-point)',{'font-size':12});
mc.forEach(m=>{const xa=X(m.a.achieved),xb=X(m.b.achieved),h=Math.abs(m.v)/mmax*(BB-B2);
 const r=el('rect',{x:xa+1,y:BB-h,width:Math.max(1,xb-xa-2),height:h,fill:m.v<0?'#d33':'#9cd',class:'bar'});
 el('title',{},r).textContent=pct(m.a.achieved)+' → '+pct(m.b.achieved)+': '+wan(m.v)+' per point';
 if(xb-xa>46)txt((xa+xb)/2,BB-h-3,wan(m.v),{'text-anchor':'middle','font-size':10});});
function show(ev,r){tip.hidden=false;tip.innerHTML='<b>'+(r.target==null?String(r.status).split(':')[0]:'target '+pct(r.target))+'</b> · achieved '+pct(r.achieved)+'<br>cost '+wan(r.total_cost_cny_yr)+'/yr (capex '+wan(r.capex_cny)+', opex '+wan(r.opex_cny_yr)+'/yr, transport '+wan(r.transport_cost_cny_yr)+'/yr)<br>sites: '+r.sites_village_point+' village points, '+r.sites_township_station+' township stations, '+r.sites_county_center+' county centres<br>gap '+(r.gap==null?'–':(100*r.gap).toFixed(2)+' %')+' · '+String(r.status||'').replace(/</g,'&lt;');
 const bx=svg.getBoundingClientRect(),k=bx.width/W;let x=X(r.achieved)*k+12,y=Y(r.total_cost_cny_yr)*k+12;if(x>bx.width-330)x-=350;tip.style.left=x+'px';tip.style.top=y+'px';}
curve.forEach(r=>{const c=el('circle',{cx:X(r.achieved),cy:Y(r.total_cost_cny_yr),r:6,fill:/plan of target|cost above/.test(r.status)?'#e90':'#2a7',stroke:'#fff','stroke-width':1.5,class:'pt','data-target':r.target});
 c.addEventListener('mouseenter',e=>show(e,r));c.addEventListener('mouseleave',()=>{tip.hidden=true;});
 c.addEventListener('click',()=>{window.location.href=r.run+'/index.html';});});
// budget rows: the max-coverage plan of each budget, a diamond at its coverage and cost
bpts.forEach(r=>{const x=X(r.achieved),y=Y(r.total_cost_cny_yr),c=el('path',{d:'M'+x+' '+(y-8)+'L'+(x+8)+' '+y+'L'+x+' '+(y+8)+'L'+(x-8)+' '+y+'Z',fill:'#06c',stroke:'#fff','stroke-width':1.5,class:'bpt'});
 c.addEventListener('mouseenter',e=>show(e,r));c.addEventListener('mouseleave',()=>{tip.hidden=true;});
 c.addEventListener('click',()=>{window.location.href=r.run+'/index.html';});});
const cols=['target','achieved','total_cost_cny_yr','capex_cny','opex_cny_yr','transport_cost_cny_yr','sites_village_point','sites_township_station','sites_county_center','gap','status','run'];
const tb=document.getElementById('rows');let h='<tr>'+cols.map(c=>'<th>'+c+'</th>').join('')+'</tr>';
const esc=s=>String(s==null?'–':s).replace(/&/g,'&amp;').replace(/</g,'&lt;');
for(const r of D.rows){const bad=!good(r);h+='<tr'+(bad?' class=bad':'')+'>'+cols.map(c=>{let v=r[c];
 if(c==='run')return '<td class=s>'+(v?'<a href="'+esc(v)+'/index.html">'+esc(v)+'</a>':'–')+'</td>';
 if(c==='status')return '<td class=s>'+esc(v)+'</td>';
 if(/cost|capex|opex/.test(c)&&v!=null)v=Math.round(v).toLocaleString('en');else if((c==='target'||c==='achieved'||c==='gap')&&v!=null)v=(100*v).toFixed(2)+' %';
 return '<td>'+esc(v)+'</td>';}).join('')+'</tr>';}
tb.innerHTML=h;
})();
"""
